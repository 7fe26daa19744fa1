import Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import { CommitError } from '../errors.js'
import type { PartitionState } from '../dispatch/partition-state.js'
import { CommitMetadata } from './commit-metadata.js'

const STORE_INTERVAL_MS = 20

/**
 * How often a partition whose watermark is held back commits its offset map when the map
 * changed: a crash then replays at most about this long of its work above the watermark.
 */
export const MAP_COMMIT_INTERVAL_MS = 50

const { ERRORS } = Kafka.CODES

/**
 * The group is rebalancing or has moved on from this member's generation. During a revoke
 * such a commit may not succeed until the member rejoins, and retrying it long delays
 * exactly that (the member misses the join window and is dropped from the generation):
 * revokes retry these only briefly, then give up — the next owner replays from the last
 * commit, so nothing is lost.
 */
const GENERATION_ERRORS = new Set([ERRORS.ERR_REBALANCE_IN_PROGRESS, ERRORS.ERR_ILLEGAL_GENERATION, ERRORS.ERR_UNKNOWN_MEMBER_ID])

/** Commit errors that another try can get past: the generation's, the coordinator moving or loading, timeouts, lost connections. */
const RETRIABLE_COMMIT_ERRORS = new Set([
  ...GENERATION_ERRORS,
  ERRORS.ERR_COORDINATOR_NOT_AVAILABLE,
  ERRORS.ERR_NOT_COORDINATOR,
  ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  ERRORS.ERR__TIMED_OUT,
  ERRORS.ERR__ALL_BROKERS_DOWN,
  ERRORS.ERR__TRANSPORT,
  ERRORS.ERR__MSG_TIMED_OUT,
  ERRORS.ERR_REQUEST_TIMED_OUT,
])

/**
 * Hands watermarks to librdkafka's offset store (committed on its auto-commit interval)
 * and commits synchronously on revoke and stop. It only ever stores a watermark that is
 * higher than the last one stored for the same assignment, so a commit never goes back.
 */
export class Committer {
  readonly #consumer: Kafka.KafkaConsumer
  readonly #metadata: CommitMetadata
  /** The offset map last sent for each partition, so that an unchanged one is not sent again. */
  readonly #sentMaps = new WeakMap<PartitionState, string>()
  #dirty = new Set<PartitionState>()
  #scheduled = false
  #mapTimer: NodeJS.Timeout | undefined
  commits = 0

  /**
   * @param offsetMapMaxBytes the most metadata one commit carries (the broker's
   * `offset.metadata.max.bytes`); 0: commits carry no offset map.
   */
  constructor(consumer: Kafka.KafkaConsumer, offsetMapMaxBytes = 0) {
    this.#consumer = consumer
    this.#metadata = new CommitMetadata(offsetMapMaxBytes)
  }

  /**
   * Commits, every `intervalMs`, the offset maps that changed while their watermark did not
   * move: a watermark held back by a slow message must not freeze what is saved above it.
   * (A watermark that moves carries its map in the store, committed on librdkafka's interval.)
   */
  startMapCommits(states: () => Iterable<PartitionState>, intervalMs = MAP_COMMIT_INTERVAL_MS): void {
    if (!this.#metadata.enabled || this.#mapTimer !== undefined) return
    this.#mapTimer = setInterval(() => this.commitChangedMaps(states()), intervalMs)
    this.#mapTimer.unref()
  }

  stopMapCommits(): void {
    clearInterval(this.#mapTimer)
    this.#mapTimer = undefined
  }

  /** Commits the watermark and offset map of each partition whose map changed since it was last sent. */
  commitChangedMaps(states: Iterable<PartitionState>): void {
    const offsets: Kafka.TopicPartitionOffsetAndMetadata[] = []
    for (const state of states) {
      const watermark = state.watermark()
      // A watermark above the stored one is stored with its map (storeDirty) and committed on librdkafka's interval.
      if (state.revoked || watermark === undefined || (state.stored !== undefined && watermark !== state.stored)) continue
      const metadata = this.#metadata.for(state, watermark)
      if (metadata === undefined || metadata === this.#sentMaps.get(state)) continue
      state.offsetStored(watermark)
      this.#sentMaps.set(state, metadata)
      offsets.push({ topic: state.topic, partition: state.partition, offset: watermark, metadata })
    }
    if (offsets.length === 0) return
    try {
      // Asynchronous: the result comes back through offset_commit_cb (committed()).
      this.#consumer.commit(offsets)
    } catch (error) {
      if (channels.commitError.hasSubscribers) channels.commitError.publish({ error, reason: 'auto' })
    }
  }

  /** The offset to commit for `state` with its offset map, or undefined when there is no watermark. */
  #entry(state: PartitionState, watermark: number): Kafka.TopicPartitionOffsetAndMetadata {
    const metadata = this.#metadata.for(state, watermark)
    if (metadata === undefined) return { topic: state.topic, partition: state.partition, offset: watermark }
    this.#sentMaps.set(state, metadata)
    return { topic: state.topic, partition: state.partition, offset: watermark, metadata }
  }

  /**
   * Notes that a partition's watermark moved. Stores are batched (at most one call into
   * librdkafka per STORE_INTERVAL_MS): the commit itself only happens on the
   * auto-commit interval, and revoke and stop commit the watermarks directly.
   */
  watermarkMoved(state: PartitionState): void {
    this.#dirty.add(state)
    if (!this.#scheduled) {
      this.#scheduled = true
      setTimeout(() => this.storeDirty(), STORE_INTERVAL_MS).unref()
    }
  }

  storeDirty(): void {
    this.#scheduled = false
    if (this.#dirty.size === 0) return
    const offsets: Kafka.TopicPartitionOffsetAndMetadata[] = []
    for (const state of this.#dirty) {
      const watermark = state.watermark()
      if (state.revoked || watermark === undefined) continue
      if (!state.offsetStored(watermark)) continue
      offsets.push(this.#entry(state, watermark))
    }
    this.#dirty.clear()
    if (offsets.length === 0) return
    try {
      this.#consumer.offsetsStore(offsets)
    } catch (error) {
      // The partition was revoked under us: its state is fenced; nothing to store.
      if (channels.commitError.hasSubscribers) channels.commitError.publish({ error, reason: 'store' })
    }
  }

  /** librdkafka's offset_commit_cb: records what reached the broker. */
  committed(states: (topic: string, partition: number) => PartitionState | undefined, err: Kafka.LibrdKafkaError | undefined, offsets: Kafka.TopicPartitionOffset[]): void {
    if (err && err.code !== ERRORS.ERR__NO_OFFSET /* nothing to commit */) {
      if (channels.commitError.hasSubscribers) channels.commitError.publish({ error: err, reason: 'auto' })
      return
    }
    if (!offsets || offsets.length === 0) return
    this.commits++
    for (const entry of offsets) {
      const state = states(entry.topic, entry.partition)
      if (state && typeof entry.offset === 'number') state.offsetCommitted(entry.offset)
    }
    if (channels.commit.hasSubscribers) channels.commit.publish({ offsets, reason: 'auto' })
  }

  /**
   * Commits the watermarks of `states` now, retrying rebalance-type errors until
   * `deadline` (ms since epoch). Returns the offsets committed.
   */
  async commitSync(states: Iterable<PartitionState>, reason: 'revoke' | 'stop', deadline: number, options: { generationDeadline?: number } = {}): Promise<Kafka.TopicPartitionOffset[]> {
    const offsets: Kafka.TopicPartitionOffsetAndMetadata[] = []
    for (const state of states) {
      const watermark = state.watermark()
      if (watermark === undefined) continue
      const mapChanged = this.#metadata.for(state, watermark) !== this.#sentMaps.get(state)
      if (state.committed !== undefined && watermark <= state.committed && !(watermark === state.committed && mapChanged)) continue
      offsets.push(this.#entry(state, watermark))
    }
    if (offsets.length === 0) return offsets
    for (let attempt = 1; ; attempt++) {
      try {
        this.#consumer.commitSync(offsets)
        this.commits++
        for (const state of states) {
          const done = offsets.find((o) => o.topic === state.topic && o.partition === state.partition)
          if (done) state.offsetCommitted(done.offset)
        }
        if (channels.commit.hasSubscribers) channels.commit.publish({ offsets, reason })
        return offsets
      } catch (error) {
        const code = (error as { code?: number }).code ?? 0
        const until = GENERATION_ERRORS.has(code) && options.generationDeadline !== undefined ? Math.min(deadline, options.generationDeadline) : deadline
        if (!RETRIABLE_COMMIT_ERRORS.has(code) || Date.now() + 100 > until) {
          const wrapped = new CommitError(`commit on ${reason} failed: ${(error as Error).message}`, { cause: error })
          if (channels.commitError.hasSubscribers) channels.commitError.publish({ error: wrapped, reason })
          throw wrapped
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)))
      }
    }
  }
}
