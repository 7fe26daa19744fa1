/** kvp handler module for the memory benchmark: awaits KVP_BENCH_DELAY_MS (default 20 ms) per message. */
import { setTimeout as sleep } from 'node:timers/promises'

const delayMs = Number(process.env.KVP_BENCH_DELAY_MS ?? 20)

export default async function handle(): Promise<void> {
  await sleep(delayMs)
}
