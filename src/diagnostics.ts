import * as diagnosticsChannel from 'node:diagnostics_channel'

/**
 * Events the core publishes. Metrics and logging subscribe; the core never imports them.
 * Publishing is free when nobody subscribes (`hasSubscribers` is checked by callers on the
 * hot path).
 */
export const channels = {
  /** A slice was sent to the pool. `{ topic, partition, lane, size, attempt }` */
  slice: diagnosticsChannel.channel('kvp:slice'),
  /** A slice came back. `{ topic, partition, lane, handled, failed, durationMs }` */
  ack: diagnosticsChannel.channel('kvp:ack'),
  /** Offsets were committed. `{ offsets: [{ topic, partition, offset }], reason }` */
  commit: diagnosticsChannel.channel('kvp:commit'),
  /** A commit failed. `{ error, reason }` */
  commitError: diagnosticsChannel.channel('kvp:commit-error'),
  /** Partitions assigned or revoked. `{ kind: 'assign' | 'revoke', partitions, generation }` */
  rebalance: diagnosticsChannel.channel('kvp:rebalance'),
  /** A handler failed on a message. `{ topic, partition, offset, attempt, error, willRetry, delayMs }` */
  handlerError: diagnosticsChannel.channel('kvp:handler-error'),
  /** A message went to the dead-letter topic. `{ topic, partition, offset, deadLetterTopic, error }` */
  deadLetter: diagnosticsChannel.channel('kvp:dead-letter'),
  /** The partitioner threw; the batch ran as one lane. `{ topic, partition, offset, error }` */
  partitionerError: diagnosticsChannel.channel('kvp:partitioner-error'),
  /** A partition was paused or resumed by backpressure. `{ topic, partition, paused, inFlight }` */
  backpressure: diagnosticsChannel.channel('kvp:backpressure'),
  /** An ack arrived for a revoked partition or an older generation and was dropped. */
  staleAck: diagnosticsChannel.channel('kvp:stale-ack'),
  /** Engine lifecycle: `{ state: 'starting' | 'running' | 'stopping' | 'stopped', ... }` */
  lifecycle: diagnosticsChannel.channel('kvp:lifecycle'),
  /** A client error from librdkafka. `{ error }` */
  kafkaError: diagnosticsChannel.channel('kvp:kafka-error'),
} as const

export type ChannelName = keyof typeof channels
