/** Public option types of `startEngine()`. Defaults and validation live in ./resolve.ts. */

/** What a partitioner function receives: the message as fetched, before any decoding. */
export interface RawMessage {
  topic: string
  partition: number
  offset: number
  key: Buffer | string | null | undefined
  value: Buffer | null | undefined
  timestamp?: number | undefined
  headers?: Array<Record<string, Buffer | string>> | undefined
}

export type VirtualKey = string | Buffer | number | null | undefined

export type PartitionerFn = (message: RawMessage) => VirtualKey

export type PartitionerOption =
  | 'key'
  | { header: string }
  | { json: string }
  | { protobuf: string }
  | PartitionerFn

export type Distribution = 'consistent' | 'balanced'

export interface VirtualPartitionsOptions {
  /** How a message's virtual key is found. Default `'key'` (the Kafka message key). */
  partitioner?: PartitionerOption
  /** Lanes per Kafka partition. Default 64. */
  maxPartitions?: number
  /** How keys map to lanes. Default `'consistent'`. */
  distribution?: Distribution
}

export interface RetryOptions {
  /** Attempts per message including the first; `Infinity` retries forever. Default 10 with a dead-letter topic, Infinity without. */
  maxAttempts?: number
  /** First backoff. Default 100 ms. */
  backoffMs?: number
  /** Backoff cap. Default 30 000 ms. */
  maxBackoffMs?: number
}

export interface DeadLetterOptions {
  topic: string
  /** librdkafka settings for the dead-letter producer (e.g. `acks`, `compression.type`). */
  kafka?: Record<string, string | number | boolean>
}

export type PayloadOption = 'raw' | 'json' | { protobuf: string; type: string }

export interface TopicRoute {
  topic: string
  /** Path or URL of the handler module (its default export, or a named `handle` export). */
  handler: string
  /** `false`: one lane per Kafka partition (plain Kafka semantics). Default: split by key. */
  virtualPartitions?: VirtualPartitionsOptions | false
  retry?: RetryOptions
  deadLetter?: DeadLetterOptions
  /** A slice running longer than this is aborted and its message fails with KVP_TIMEOUT. */
  handlerTimeoutMs?: number
  /** How the worker decodes `message.value` into `message.payload`. Default `'raw'`. */
  payload?: PayloadOption
  /** The handler marks progress with `ctx.markAsConsumed()`; unmarked messages hold the watermark. */
  manualOffsets?: boolean
}

export interface BackpressureOptions {
  /** Pause a partition when this many of its fetched messages are not yet done. Default 5000. */
  maxInFlightPerPartition?: number
  /** Pause every partition when fetched-but-not-done payload bytes exceed this. Default 64 MiB. */
  maxInFlightBytes?: number
  /** Resume once below this fraction of the limits. Default 0.5. */
  resumeRatio?: number
}

export interface EngineOptions {
  /** `'host:port,...'`, or `'mock'` (the default) for an embedded cluster. */
  brokers?: string
  groupId: string
  topics: TopicRoute[]
  /** Worker threads. Default: available parallelism, at least 2. */
  threads?: number
  /** Slices (lanes) one worker thread runs at once. Default: enough for every lane of a partition (at least 32). */
  concurrencyPerThread?: number
  /** Most messages in one slice sent to a worker. Default 512. */
  maxSliceMessages?: number
  /** Messages asked of librdkafka per poll. Default 1000. */
  batchSize?: number
  /** How long one poll waits for messages when the local queue is empty. Default 10 ms. */
  pollTimeoutMs?: number
  backpressure?: BackpressureOptions
  /** How long a revoke waits for in-flight slices before committing and letting go. Default 10 000 ms. */
  revokeTimeoutMs?: number
  /** Where the consumer starts when the group has no committed offset. Default `'earliest'`. */
  fromBeginning?: boolean
  /** librdkafka settings passed through (`'session.timeout.ms': 6000`, ...). */
  kafka?: Record<string, string | number | boolean>
  /** Brokers in the embedded cluster when `brokers` is `'mock'`. Default 1. */
  mockBrokers?: number
}
