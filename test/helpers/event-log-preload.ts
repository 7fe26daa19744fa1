/**
 * Preloaded into a `kvp run` child (`NODE_OPTIONS=--import <this module>`, see
 * `eventLogEnv()` in ./group.ts): appends the engine's rebalance, stale-ack and commit
 * events, one JSON object a line, to the file named by KVP_TEST_EVENTS. Tests use it to
 * know which process owned which partition when, without parsing logs.
 *
 * Timestamps use the same clock as the recording handler (performance.timeOrigin + now()),
 * so a handled record can be placed within the assignment it ran under.
 */
import * as diagnosticsChannel from 'node:diagnostics_channel'
import { appendFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { isMainThread } from 'node:worker_threads'

const file = process.env.KVP_TEST_EVENTS

interface TopicPartition {
  topic: string
  partition: number
}

function write(event: Record<string, unknown>): void {
  if (file === undefined) return
  appendFileSync(file, `${JSON.stringify({ t: performance.timeOrigin + performance.now(), pid: process.pid, ...event })}\n`)
}

const toppars = (list: unknown): TopicPartition[] =>
  Array.isArray(list) ? list.map((entry: TopicPartition) => ({ topic: entry.topic, partition: entry.partition })) : []

if (isMainThread && file !== undefined) {
  diagnosticsChannel.subscribe('kvp:rebalance', (message) => {
    const event = message as { kind: string; partitions: unknown; generation: number; cooperative: boolean }
    write({ type: 'rebalance', kind: event.kind, partitions: toppars(event.partitions), generation: event.generation, cooperative: event.cooperative })
  })
  diagnosticsChannel.subscribe('kvp:stale-ack', (message) => {
    const event = message as { topic: string; partition: number; generation: number; handled: number }
    write({ type: 'stale-ack', topic: event.topic, partition: event.partition, generation: event.generation, handled: event.handled })
  })
  diagnosticsChannel.subscribe('kvp:commit-error', (message) => {
    const event = message as { error: { message?: string; code?: unknown }; reason: string }
    write({ type: 'commit-error', reason: event.reason, error: String(event.error?.message ?? event.error), code: event.error?.code })
  })
  diagnosticsChannel.subscribe('kvp:commit', (message) => {
    const event = message as { offsets: Array<TopicPartition & { offset: number }>; reason: string }
    write({ type: 'commit', reason: event.reason, offsets: event.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })) })
  })
}
