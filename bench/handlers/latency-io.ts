/**
 * kvp handler module for the latency measurement: the `io` work, plus the time from the
 * producer's timestamp to the moment this handler started on the message. Latencies are
 * batched and posted to the main thread on a BroadcastChannel, off the hot path.
 */
import { BroadcastChannel } from 'node:worker_threads'
import { LATENCY_CHANNEL } from './latency-channel.js'
import { ioWork } from './work.js'

const FLUSH_EVERY_MS = 50
const FLUSH_AT_PAIRS = 1024

const channel = new BroadcastChannel(LATENCY_CHANNEL)
channel.unref()
let pending: number[] = []

function flush(): void {
  if (pending.length === 0) return
  channel.postMessage(pending)
  pending = []
}
setInterval(flush, FLUSH_EVERY_MS).unref()

export default async function handle(message: { timestamp?: number | undefined }): Promise<void> {
  const now = Date.now()
  pending.push(now, now - (message.timestamp ?? now))
  if (pending.length >= FLUSH_AT_PAIRS * 2) flush()
  await ioWork()
}
