import type Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import { wakeFetcher } from './fetch-wakeup.js'
import type { PartitionState } from '../dispatch/partition-state.js'

export interface BackpressureLimits {
  maxInFlightPerPartition: number
  maxInFlightBytes: number
  resumeRatio: number
}

/**
 * Pauses a partition's fetching when too many of its messages are in flight, and every
 * partition when in-flight bytes pass the global limit; resumes below the low-water marks.
 * The poll loop keeps running either way, so the consumer stays in its group.
 */
export class Backpressure {
  readonly #consumer: Kafka.KafkaConsumer
  readonly #limits: BackpressureLimits
  readonly #paused = new Set<PartitionState>()
  #bytesPaused = false
  pauses = 0

  constructor(consumer: Kafka.KafkaConsumer, limits: BackpressureLimits) {
    this.#consumer = consumer
    this.#limits = limits
  }

  /**
   * After a fetch: pause `state` (or everything) above the high-water marks. `nextPoll`: the
   * messages the poll already in flight may bring.
   */
  afterFetch(state: PartitionState, totalBytes: number, all: () => Iterable<PartitionState>, nextPoll: number): void {
    // The poller asks for the next batch before dispatching this one, so one more batch of
    // this partition may still arrive after a pause: pause early enough for it to fit. The
    // poll's own size, not the largest one: while lanes are backed up polls are small, and
    // pausing a whole large poll early would narrow the band between pause and resume
    // (io 1 ms, 256 lanes: 55 pauses in 5 s instead of 21, each one a refetch).
    if (!state.paused && state.inFlight + nextPoll >= this.#limits.maxInFlightPerPartition) this.#pause(state)
    // The byte limit keeps room for that poll too, at this partition's bytes per message.
    const pollBytes = state.inFlight > 0 ? (nextPoll * state.bytes) / state.inFlight : 0
    if (!this.#bytesPaused && totalBytes + pollBytes >= this.#limits.maxInFlightBytes) {
      this.#bytesPaused = true
      for (const other of all()) if (!other.paused) this.#pause(other)
    }
  }

  /** After acks: resume partitions below the low-water marks. */
  afterAcks(totalBytes: number): void {
    if (this.#paused.size === 0) return
    if (this.#bytesPaused) {
      if (totalBytes > this.#limits.maxInFlightBytes * this.#limits.resumeRatio) return
      this.#bytesPaused = false
    }
    const low = this.#limits.maxInFlightPerPartition * this.#limits.resumeRatio
    for (const state of this.#paused) {
      // A revoked partition stays listed until forget(), which resumes it in the consumer.
      if (!state.revoked && state.stoppedAt === undefined && state.inFlight <= low) this.#resume(state)
    }
  }

  /** A partition stopped at a batch it cannot read: fetch no more of it (it stays paused until revoked). */
  stop(state: PartitionState): void {
    if (!state.paused) this.#pause(state)
  }

  /** A partition was revoked: it is no longer paused by us, and its bytes left the total. */
  forget(state: PartitionState): void {
    // librdkafka keeps a partition's pause across a revoke and a later assignment of it:
    // resume it now, or whoever gets it back next (this member too) never fetches it.
    if (this.#paused.delete(state)) this.#resumeConsumer(state)
    // The byte limit is judged afresh on the next fetch; a pause for bytes that belonged to
    // partitions now gone must not linger.
    if (this.#paused.size === 0) this.#bytesPaused = false
  }

  #resumeConsumer(state: PartitionState): void {
    try {
      this.#consumer.resume([{ topic: state.topic, partition: state.partition }])
    } catch {
      // Not assigned any more: nothing to resume.
      return
    }
    wakeFetcher(this.#consumer, state.topic, state.partition)
  }

  #pause(state: PartitionState): void {
    try {
      this.#consumer.pause([{ topic: state.topic, partition: state.partition }])
    } catch {
      return
    }
    state.fetchPaused()
    this.pauses++
    this.#paused.add(state)
    if (channels.backpressure.hasSubscribers) channels.backpressure.publish({ topic: state.topic, partition: state.partition, paused: true, inFlight: state.inFlight })
  }

  #resume(state: PartitionState): void {
    this.#paused.delete(state)
    state.fetchResumed()
    this.#resumeConsumer(state)
    if (channels.backpressure.hasSubscribers) channels.backpressure.publish({ topic: state.topic, partition: state.partition, paused: false, inFlight: state.inFlight })
  }
}
