/**
 * kvp handler module for `npm run bench:replays`: awaits KVP_BENCH_DELAY_MS (default 5) per
 * message, and KVP_BENCH_SLOW_MS (default 1500) for the slow key's messages below
 * KVP_BENCH_SLOW_BELOW (the key KVP_BENCH_SLOW_KEY, default `key-0`); then appends
 * `<tag>\t<partition>\t<offset>\t<ms>` to the file KVP_BENCH_RECORD, so the benchmark can count
 * what ran twice.
 */
import { appendFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { HandlerMessage } from '../../src/worker/slice-runner.js'

const delayMs = Number(process.env.KVP_BENCH_DELAY_MS ?? 5)
const slowKey = process.env.KVP_BENCH_SLOW_KEY ?? 'key-0'
const slowBelow = Number(process.env.KVP_BENCH_SLOW_BELOW ?? 0)
const slowMs = Number(process.env.KVP_BENCH_SLOW_MS ?? 1500)
const record = process.env.KVP_BENCH_RECORD
const tag = process.env.KVP_BENCH_TAG ?? ''

export default async function handle(message: HandlerMessage): Promise<void> {
  const slow = message.offset < slowBelow && message.key?.toString() === slowKey
  await sleep(slow ? slowMs : delayMs)
  if (record !== undefined) appendFileSync(record, `${tag}\t${message.partition}\t${message.offset}\t${Date.now()}\n`)
}
