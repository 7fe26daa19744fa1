import type { Message as KafkaMessage } from 'node-rdkafka'
import type { ResolvedRoute } from '../config/resolve.js'
import type { VirtualKey } from '../config/options.js'
import type { KnownDone } from '../offsets/known-done.js'
import { OffsetTracker } from '../offsets/offset-tracker.js'
import type { Distributor } from '../partitioning/distributor-types.js'
import type { KeyExtractor } from '../partitioning/partitioner.js'
import { HeldBatches } from './held-batches.js'
import { Lane } from './lane.js'
import { LaneSplitter } from './lane-splitter.js'
import { RunRegistrar } from './run-registrar.js'

/** A lane of a partition: its `owner` is the partition state (this assignment of it). */
export type PartitionLane = Lane<PartitionState>

export interface PartitionError {
  offset: number
  error: unknown
}

/**
 * Everything the engine knows about one assigned Kafka partition: its lanes, its offset
 * tracker and its counters. A new assignment of the same partition gets a new object, so
 * anything holding an old one (an in-flight slice) can tell it is stale.
 */
export class PartitionState {
  readonly topic: string
  readonly partition: number
  readonly route: ResolvedRoute
  readonly generation: number
  readonly lanes: Array<PartitionLane | undefined>
  /** Which fetched offsets are done, and so the watermark (../offsets/offset-tracker.ts). */
  readonly #tracker = new OffsetTracker()
  #revoked = false
  #draining = false
  #paused = false
  /** Messages sitting in lanes (queued or running). */
  #laneMessages = 0
  /** Payload bytes (values) of the messages in lanes and held batches. */
  #bytes = 0
  #fetched = 0
  #handled = 0
  #failures = 0
  #deadLettered = 0
  #stored: number | undefined
  #committed: number | undefined
  readonly #extract: KeyExtractor
  readonly #distributor: Distributor
  /** Batches waiting until the lanes are empty (./held-batches.ts). */
  readonly #held: HeldBatches
  /** Packs each batch once and gives each lane its run of it (./lane-splitter.ts). */
  readonly #splitter: LaneSplitter
  #sealedAt: number | undefined
  /** One past the highest tracker seq a slice has started (0: none yet). */
  #startedBefore = 0
  #firstOffset: number | undefined
  /** librdkafka could not read the batch at this offset: nothing from here on is taken, so nothing past it is committed. */
  #stoppedAt: number | undefined
  readonly #laneAt = (index: number): PartitionLane => this.lane(index)
  /** Registers fetched batches: drops redelivered offsets, skips what the previous owner recorded as done (./run-registrar.ts). */
  readonly #registrar: RunRegistrar

  /**
   * @param knownDone offsets the previous owner recorded as done above the committed offset
   * (its offset map): fetched again, they count as done without reaching a handler.
   */
  constructor(topic: string, partition: number, route: ResolvedRoute, generation: number, extract: KeyExtractor, distributor: Distributor, knownDone?: KnownDone) {
    this.#registrar = new RunRegistrar(knownDone)
    this.topic = topic
    this.partition = partition
    this.route = route
    this.generation = generation
    this.lanes = new Array<PartitionLane | undefined>(distributor.lanes)
    this.#splitter = new LaneSplitter(distributor)
    this.#extract = extract
    this.#distributor = distributor
    this.#held = new HeldBatches(distributor.needsBarrier)
  }

  /** Fetched, not yet handled: in lanes or held behind a barrier. */
  get inFlight(): number {
    return this.#laneMessages + this.#held.messages
  }

  /** No message in any lane (held batches may wait for exactly this). */
  get idle(): boolean {
    return this.#laneMessages === 0
  }

  /** Messages in lanes, queued or running. */
  get laneMessages(): number {
    return this.#laneMessages
  }

  /** Payload bytes of the messages fetched and not yet done. */
  get bytes(): number {
    return this.#bytes
  }

  get fetched(): number {
    return this.#fetched
  }

  get handled(): number {
    return this.#handled
  }

  /** Failed handler attempts. */
  get failures(): number {
    return this.#failures
  }

  get deadLettered(): number {
    return this.#deadLettered
  }

  /**
   * The partition cannot be read past `offset` (a batch there could not be decompressed or
   * parsed; librdkafka goes on after it). Messages from `offset` on that are fetched later
   * are never taken (`accepts`), so the watermark stays at or below it.
   */
  stopAt(offset: number): void {
    if (this.#stoppedAt === undefined || offset < this.#stoppedAt) this.#stoppedAt = offset
  }

  /** Where the partition stopped (undefined: it did not). */
  get stoppedAt(): number | undefined {
    return this.#stoppedAt
  }

  /** A fetched message at `offset` may be taken: the partition has not stopped at or before it. */
  accepts(offset: number): boolean {
    return this.#stoppedAt === undefined || offset < this.#stoppedAt
  }

  /** The assignment is over: nothing of it is committed any more. */
  get revoked(): boolean {
    return this.#revoked
  }

  /** Being revoked: in-flight slices finish, no new ones start. */
  get draining(): boolean {
    return this.#draining
  }

  /** Fetching is paused by backpressure. */
  get paused(): boolean {
    return this.#paused
  }

  /** The last offset handed to librdkafka's offset store. */
  get stored(): number | undefined {
    return this.#stored
  }

  /** The last offset known to have reached the broker. */
  get committed(): number | undefined {
    return this.#committed
  }

  /**
   * The offset to commit: the lowest fetched offset not yet done, or one past the last
   * fetched when all are done; undefined before the first fetch.
   */
  watermark(): number | undefined {
    return this.#tracker.watermark()
  }

  /**
   * The consumer's fetch position is `position`: the offsets it skipped between the last
   * fetched message and there (transaction markers, aborted records) need no handling.
   * Returns true when the watermark moved (see OffsetTracker.advanceTo).
   */
  advanceTo(position: number): boolean {
    return this.#tracker.advanceTo(position)
  }

  /** The offset of the fetched message with tracker seq `seq` while it is not yet done; else undefined. */
  offsetOf(seq: number): number | undefined {
    return this.#tracker.offsetOf(seq)
  }

  /**
   * Done with the `handled` head messages of a slice of `lane` (`marked` of them marked
   * consumed, for manual offsets). Returns true when the watermark moved.
   */
  sliceHandled(lane: PartitionLane, handled: number, marked: number): boolean {
    let moved = false
    if (this.route.manualOffsets) {
      for (const seq of lane.markedSeqs(handled, marked)) moved = this.#tracker.ack(seq) || moved
    } else {
      for (let i = 0; i < handled; i++) moved = this.#tracker.ack(lane.seqAt(i)) || moved
    }
    this.#consume(lane, handled)
    return moved
  }

  /** A handler attempt failed. */
  handlerFailed(): void {
    this.#failures++
  }

  /** The head message of `lane` reached the dead-letter topic: it is done. Returns true when the watermark moved. */
  deadLetterDelivered(lane: PartitionLane): boolean {
    this.#deadLettered++
    const moved = this.#tracker.ack(lane.seqAt(0))
    this.#consume(lane, 1)
    return moved
  }

  #consume(lane: PartitionLane, count: number): void {
    if (count === 0) return
    this.#bytes -= lane.advance(count)
    this.#splitter.laneAdvanced(lane.index, count)
    this.#laneMessages -= count
    this.#handled += count
  }

  /** Librdkafka's offset store took `offset`. Returns false (and keeps the old one) unless it is higher. */
  offsetStored(offset: number): boolean {
    if (this.#stored !== undefined && offset <= this.#stored) return false
    this.#stored = offset
    return true
  }

  /** `offset` reached the broker. Kept only when higher than the last: a committed offset never goes back. */
  offsetCommitted(offset: number): void {
    if (offset < 0) return
    if (this.#committed === undefined || offset > this.#committed) this.#committed = offset
    if (this.#stored === undefined || offset > this.#stored) this.#stored = offset
  }

  fetchPaused(): void {
    this.#paused = true
  }

  fetchResumed(): void {
    this.#paused = false
  }

  /** A slice started whose last message has tracker seq `seq`. */
  startedUpTo(seq: number): void {
    if (seq >= this.#startedBefore) this.#startedBefore = seq + 1
  }

  /**
   * Exactly-once: a transaction is closing. It covers every message up to the last one a
   * slice has started: those below it run to the end (started or still queued in a lane
   * that is behind), so the watermark becomes contiguous there; the rest wait in their
   * lanes for the next transaction. Sealing at what was started, not at what was fetched,
   * keeps a closing transaction as short as the lanes' spread, however deep the backlog.
   */
  seal(): void {
    this.#sealedAt = this.#startedBefore
  }

  /** The next transaction is open: every queued message may run. */
  unseal(): void {
    this.#sealedAt = undefined
  }

  /** The tracker seq from which messages wait for the next transaction; undefined when not sealed. */
  get sealedAt(): number | undefined {
    return this.#sealedAt
  }

  /** Every message before the seal is done: the watermark is exactly what the closing transaction covers. */
  get settled(): boolean {
    return this.#sealedAt === undefined || this.#tracker.doneBefore(this.#sealedAt)
  }

  /** The first offset this assignment fetched (where a rewind goes back to when nothing was committed). */
  get firstOffset(): number | undefined {
    return this.#firstOffset
  }

  /** The first message of the batches held behind a barrier (they come after the lanes' messages), or undefined. */
  heldHead(): KafkaMessage | undefined {
    return this.#held.head()
  }

  /** The partition is being revoked: in-flight slices may finish, nothing new starts. */
  startDraining(): void {
    this.#draining = true
  }

  lane(index: number): PartitionLane {
    let lane = this.lanes[index]
    if (!lane) {
      lane = new Lane(index, this, this.topic, this.partition)
      this.lanes[index] = lane
    }
    return lane
  }

  /**
   * Takes a batch of this partition's messages (offset order). Returns the lanes that got
   * messages (for the dispatcher's ready list), and the partitioner's error if it threw.
   */
  accept(batch: KafkaMessage[], touched: PartitionLane[]): PartitionError | undefined {
    const { fetched, firstOffset, messages, seqs, bytes } = this.#registrar.register(this.#tracker, batch)
    this.#firstOffset ??= firstOffset
    this.#fetched += fetched
    this.#bytes += bytes
    if (messages.length === 0) return undefined

    let keys: VirtualKey[] | undefined
    let failure: PartitionError | undefined
    if (this.route.split && this.#distributor.lanes > 1) {
      keys = new Array<VirtualKey>(messages.length)
      let i = 0
      try {
        for (; i < messages.length; i++) keys[i] = this.#extract(messages[i] as never)
      } catch (error) {
        failure = { offset: (messages[i] as KafkaMessage).offset, error }
        keys = undefined
      }
    }

    const needsBarrier = failure !== undefined || this.#distributor.needsBarrier
    if (!needsBarrier && this.#held.empty) {
      this.#distribute(messages, seqs, keys, touched)
    } else {
      this.#held.hold({ messages, seqs, keys })
      if (this.idle) this.release(touched)
    }
    return failure
  }

  /** Messages fetched again that the previous owner had recorded as done, so never handed to a handler. */
  get skippedDone(): number {
    return this.#registrar.skipped
  }

  /** The offsets done above the watermark, ascending (what a commit's offset map records). */
  doneAbove(): number[] {
    return this.#tracker.doneAbove()
  }

  /** How many offsets above the watermark are done. */
  get doneAboveCount(): number {
    return this.#tracker.doneAboveCount
  }

  /** Offsets librdkafka delivered again, dropped (see RunRegistrar). */
  get redelivered(): number {
    return this.#registrar.redelivered
  }

  /**
   * Called when the partition's lanes are empty: starts the batches held behind a barrier.
   * A batch whose partitioner failed runs alone on lane 0; balanced batches are merged and
   * spread together; consistent batches need no barrier among themselves.
   */
  release(touched: PartitionLane[]): void {
    while (this.idle) {
      const batch = this.#held.take()
      if (batch === undefined) return
      this.#distribute(batch.messages, batch.seqs, batch.keys, touched)
      if (batch.keys === undefined || this.#distributor.needsBarrier) return
    }
  }

  #distribute(messages: KafkaMessage[], seqs: number[], keys: VirtualKey[] | undefined, touched: PartitionLane[]): void {
    this.#laneMessages += messages.length
    this.#splitter.split(messages, seqs, keys, this.#laneAt, touched)
  }

  /**
   * The assignment is over (revoked, reassigned or the engine stopped): fenced, so a late
   * ack is never committed; lane timers are cancelled. Its in-flight messages and bytes
   * drop to zero, which takes them out of every total.
   */
  revoke(): void {
    if (this.#revoked) return
    this.#revoked = true
    for (const lane of this.lanes) lane?.cancelTimer()
    this.#laneMessages = 0
    this.#held.clear()
    this.#bytes = 0
  }
}
