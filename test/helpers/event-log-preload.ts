/**
 * Preloaded into a `kvp run` child (`NODE_OPTIONS=--import <this module>`, see
 * `eventLogEnv()` in ./group.ts): appends the engine's rebalance, stale-ack, commit and
 * handler-error and transaction events, one JSON object a line, to the file named by KVP_TEST_EVENTS. Tests use it to
 * know which process owned which partition when, without parsing logs.
 *
 * Timestamps use the same clock as the recording handler (performance.timeOrigin + now()),
 * so a handled record can be placed within the assignment it ran under.
 */
import { appendFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { isMainThread } from 'node:worker_threads'
import { channels } from '../../src/diagnostics.js'
import type { TopicPartitionRef } from '../../src/diagnostics.js'

const file = process.env.KVP_TEST_EVENTS

function write(event: Record<string, unknown>): void {
  if (file === undefined) return
  appendFileSync(file, `${JSON.stringify({ t: performance.timeOrigin + performance.now(), pid: process.pid, ...event })}\n`)
}

/** Just the topic and partition: librdkafka's entries carry more. */
const toppars = (list: TopicPartitionRef[]): TopicPartitionRef[] => list.map((entry) => ({ topic: entry.topic, partition: entry.partition }))

/** An error's message and code, whatever was thrown. */
function describe(error: unknown): { error: string; code: unknown } {
  if (error instanceof Error) return { error: error.message, code: (error as Error & { code?: unknown }).code }
  return { error: String(error), code: undefined }
}

if (isMainThread && file !== undefined) {
  channels.rebalance.subscribe((event) => {
    write({ type: 'rebalance', kind: event.kind, partitions: toppars(event.partitions), generation: event.generation, cooperative: event.cooperative })
  })
  channels.staleAck.subscribe((event) => {
    write({ type: 'stale-ack', topic: event.topic, partition: event.partition, generation: event.generation, handled: event.handled })
  })
  channels.commitError.subscribe((event) => {
    write({ type: 'commit-error', reason: event.reason, ...describe(event.error) })
  })
  channels.handlerError.subscribe((event) => {
    write({ type: 'handler-error', topic: event.topic, partition: event.partition, offset: event.offset, attempt: event.attempt, willRetry: event.willRetry, ...describe(event.error) })
  })
  channels.commit.subscribe((event) => {
    write({ type: 'commit', reason: event.reason, offsets: event.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })) })
  })
  channels.transaction.subscribe((event) => {
    if (event.outcome === 'commit')
      write({ type: 'transaction', outcome: 'commit', reason: event.reason, offsets: event.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })) })
    else
      write({
        type: 'transaction',
        outcome: 'abort',
        reason: event.reason,
        ...describe(event.error),
        rewound: event.rewound.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
      })
  })
}
