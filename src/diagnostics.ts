import * as diagnosticsChannel from 'node:diagnostics_channel'
import type { KvpError } from './errors.js'
import type { ActiveFault } from './kafka/fault-watch.js'

/**
 * Events the core publishes on `node:diagnostics_channel`. Metrics and logging subscribe;
 * the core never imports them. Each channel has a payload type below, so publishers and
 * subscribers are checked by the compiler. Applications may subscribe by channel name
 * (`diagnostics_channel.subscribe('kvp:commit', ...)`) and use the same types.
 * Publishing is free when nobody subscribes (callers check `hasSubscribers` on the hot path).
 */

export interface TopicPartitionRef {
  topic: string
  partition: number
}

/** `kvp:slice`: a slice of one lane was sent to the pool. */
export interface SliceEvent extends TopicPartitionRef {
  lane: number
  size: number
  attempt: number
}

/** `kvp:ack`: a slice came back from its worker. */
export interface AckEvent extends TopicPartitionRef {
  lane: number
  handled: number
  failed: boolean
  durationMs: number
}

/**
 * Why an exactly-once transaction closed: its `transactionIntervalMs` passed ('interval'),
 * a record it holds was not delivered ('delivery failure'), partitions are being revoked
 * ('revoke'), or the engine stops ('stop').
 */
export type TransactionReason = 'interval' | 'delivery failure' | 'revoke' | 'stop'

/**
 * Why offsets were committed: 'auto' (librdkafka's auto-commit interval), 'revoke' or
 * 'stop' (synchronous commits), or, with exactly-once, `transaction <reason>` (the offsets
 * went into a transaction that committed; see `TransactionReason`).
 */
export type CommitReason = 'auto' | 'revoke' | 'stop' | `transaction ${TransactionReason}`

/** `kvp:commit`: offsets reached the broker. */
export interface CommitEvent {
  offsets: Array<TopicPartitionRef & { offset: number }>
  reason: CommitReason
}

/**
 * `kvp:commit-error`: a commit or an offset store failed; the next one carries the latest
 * watermark. `reason` is 'store' (storing offsets for auto-commit), 'auto', 'revoke' or 'stop'.
 */
export interface CommitErrorEvent {
  error: unknown
  reason: 'store' | 'auto' | 'revoke' | 'stop'
}

/** `kvp:rebalance`: partitions were assigned or are being revoked. */
export interface RebalanceEvent {
  kind: 'assign' | 'revoke'
  partitions: TopicPartitionRef[]
  generation: number
  /** True when the assignment changes incrementally (cooperative-sticky, or the consumer group protocol). */
  cooperative: boolean
}

/** `kvp:handler-error`: a handler failed on a message. */
export interface HandlerErrorEvent extends TopicPartitionRef {
  offset: number
  attempt: number
  error: KvpError
  willRetry: boolean
  delayMs: number
}

/** `kvp:dead-letter`: a message was written to its route's dead-letter topic. */
export interface DeadLetterEvent extends TopicPartitionRef {
  offset: number
  deadLetterTopic: string | undefined
  error: KvpError
}

/** `kvp:partitioner-error`: the partitioner threw; the batch ran as one lane. */
export interface PartitionerErrorEvent extends TopicPartitionRef {
  offset: number
  error: KvpError
}

/** `kvp:backpressure`: a partition was paused or resumed. */
export interface BackpressureEvent extends TopicPartitionRef {
  paused: boolean
  inFlight: number
}

/** `kvp:stale-ack`: an ack for a revoked partition or an older generation was dropped. */
export interface StaleAckEvent extends TopicPartitionRef {
  generation: number
  handled: number
}

/** `kvp:lifecycle`: the engine is running, stopping or stopped. */
export type LifecycleEvent = { state: 'running'; bootstrapServers: string; groupId: string } | { state: 'stopping' } | { state: 'stopped'; drained: boolean }

/**
 * `kvp:transaction` (exactly-once): a transaction ended. A commit carries the offsets it
 * committed with its records; an abort carries the error, and the partitions it rewound.
 */
export type TransactionEvent =
  | { outcome: 'commit'; reason: TransactionReason; offsets: Array<TopicPartitionRef & { offset: number }>; durationMs: number }
  | { outcome: 'abort'; reason: TransactionReason; error: unknown; rewound: Array<TopicPartitionRef & { offset: number }>; durationMs: number }

/** `kvp:kafka-error`: librdkafka reported a client error. */
export interface KafkaErrorEvent {
  error: unknown
}

/**
 * `kvp:fault`: a client error that stops progress (credentials, TLS, an ACL, a missing
 * topic, a codec the build lacks, a batch that cannot be read), in plain words with its
 * fix. Published when first seen and at most once a minute while it lasts (`repeat`).
 */
export interface FaultEvent {
  fault: ActiveFault
  error: KvpError
  repeat: boolean
}

/** `kvp:fault-cleared`: progress showed that a fault is over. */
export interface FaultClearedEvent {
  fault: ActiveFault
}

/** One named channel whose messages are `T`. */
export class EventChannel<T> {
  readonly name: string
  readonly #channel: diagnosticsChannel.Channel
  readonly #listeners = new Map<(event: T) => void, (message: unknown) => void>()

  constructor(name: string) {
    this.name = name
    this.#channel = diagnosticsChannel.channel(name)
  }

  get hasSubscribers(): boolean {
    return this.#channel.hasSubscribers
  }

  publish(event: T): void {
    this.#channel.publish(event)
  }

  /** Subscribes `listener`; returns a function that unsubscribes it. */
  subscribe(listener: (event: T) => void): () => void {
    let raw = this.#listeners.get(listener)
    if (raw === undefined) {
      // The only place a message is given its type: everything published here is a T.
      raw = (message: unknown): void => listener(message as T)
      this.#listeners.set(listener, raw)
      diagnosticsChannel.subscribe(this.name, raw)
    }
    return () => this.unsubscribe(listener)
  }

  unsubscribe(listener: (event: T) => void): void {
    const raw = this.#listeners.get(listener)
    if (raw === undefined) return
    this.#listeners.delete(listener)
    diagnosticsChannel.unsubscribe(this.name, raw)
  }
}

/**
 * Messages fetched again after a crash or a handoff that the previous owner had recorded as
 * done (the committed offset map): they count as done without reaching a handler.
 */
export interface SkippedDoneEvent {
  topic: string
  partition: number
  /** How many were skipped in this batch. */
  count: number
}

/**
 * What kvp read from a partition's committed offset map at assignment: `done` offsets above
 * `committed` recorded as done; or a `problem` (metadata that is not kvp's, another version,
 * truncated or altered), in which case nothing is skipped and the partition is processed from
 * the committed offset as without a map.
 */
export interface OffsetMapEvent {
  topic: string
  partition: number
  committed: number
  done: number
  problem?: string
}

export const channels = {
  slice: new EventChannel<SliceEvent>('kvp:slice'),
  ack: new EventChannel<AckEvent>('kvp:ack'),
  commit: new EventChannel<CommitEvent>('kvp:commit'),
  commitError: new EventChannel<CommitErrorEvent>('kvp:commit-error'),
  rebalance: new EventChannel<RebalanceEvent>('kvp:rebalance'),
  handlerError: new EventChannel<HandlerErrorEvent>('kvp:handler-error'),
  deadLetter: new EventChannel<DeadLetterEvent>('kvp:dead-letter'),
  partitionerError: new EventChannel<PartitionerErrorEvent>('kvp:partitioner-error'),
  backpressure: new EventChannel<BackpressureEvent>('kvp:backpressure'),
  staleAck: new EventChannel<StaleAckEvent>('kvp:stale-ack'),
  lifecycle: new EventChannel<LifecycleEvent>('kvp:lifecycle'),
  kafkaError: new EventChannel<KafkaErrorEvent>('kvp:kafka-error'),
  transaction: new EventChannel<TransactionEvent>('kvp:transaction'),
  fault: new EventChannel<FaultEvent>('kvp:fault'),
  faultCleared: new EventChannel<FaultClearedEvent>('kvp:fault-cleared'),
  skippedDone: new EventChannel<SkippedDoneEvent>('kvp:skipped-done'),
  offsetMap: new EventChannel<OffsetMapEvent>('kvp:offset-map'),
} as const

export type ChannelName = keyof typeof channels

/** The payload type of a channel, by its key in `channels`: `EventOf<'commit'>`. */
export type EventOf<N extends ChannelName> = (typeof channels)[N] extends EventChannel<infer T> ? T : never
