import type { Message as KafkaMessage } from 'node-rdkafka'
import { encodeTask } from '../codec/slice-codec.js'
import type { WireSlice, WireSliceAck } from '../codec/slice-codec.js'
import { RecordColumnsWriter } from '../codec/record-columns.js'
import type { ResolvedOptions } from '../config/resolve.js'
import { channels } from '../diagnostics.js'
import { ErrorCodes, KvpError, describeError } from '../errors.js'
import { OutputDelivery } from './output-delivery.js'
import type { OutputHooks } from './output-delivery.js'
import type { PartitionLane, PartitionState } from './partition-state.js'
import type { WorkerPool } from './pool.js'
import { FailureHandler } from './failure-handler.js'
import type { SliceProgress } from '../codec/slice-progress.js'
import { SliceDrain } from './slice-drain.js'
import { TimeoutWatchdog } from './timeout-watchdog.js'
import type { WatchedSlice } from './timeout-watchdog.js'

/** What the dispatcher needs from the Kafka side (with what output delivery needs, ./output-delivery.ts). */
export interface DispatcherHooks extends OutputHooks {
  /** The partition's watermark moved: store it for the next commit. */
  watermarkMoved(state: PartitionState): void
  /** A partition took a batch: its in-flight counts grew (pause fetching?). */
  fetched(state: PartitionState): void
  /** Acks were applied: in-flight counts fell (resume fetching?). */
  acksApplied(): void
  /** Produce a message to the route's dead-letter topic; resolves on its delivery report. */
  deadLetter(state: PartitionState, message: KafkaMessage, error: KvpError, attempts: number): Promise<void>
}

/** What the dispatcher uses of the worker pool (./pool.ts); tests give it a fake. */
export type SlicePool = Pick<WorkerPool, 'threads' | 'pick' | 'room' | 'send' | 'done' | 'abort'>

/** A lane's slice in a worker. The messages stay at the head of the lane until the ack. */
interface InFlightSlice extends WatchedSlice {
  lane: PartitionLane
  state: PartitionState
  attempt: number
}

/**
 * Moves fetched messages through lanes to the worker pool and acks back into the offset
 * trackers. At most one slice per lane is in flight, so same-key messages never run at
 * once or out of order. Ready lanes are packed into tasks: a busy lane keeps queueing and
 * later sends everything it queued, so slices grow exactly when load does.
 */
export class Dispatcher {
  readonly #options: ResolvedOptions
  readonly #pool: SlicePool
  readonly #hooks: DispatcherHooks
  readonly #progress: SliceProgress
  #ready: PartitionLane[] = []
  #readyHead = 0
  #slices = new Map<number, InFlightSlice>()
  #nextSliceId = 1
  #flushScheduled = false
  readonly #watchdog: TimeoutWatchdog
  readonly #failures: FailureHandler
  /** Holds acks back until the records their handlers produced are delivered. */
  readonly #delivery: OutputDelivery<InFlightSlice>
  /** Slices in flight per partition (this assignment of it), for drain(). */
  readonly #drains = new SliceDrain<PartitionState>()
  #dispatching = true
  /** Lanes that acks filled again (a released batch): listed once the acks are applied. */
  #touched: PartitionLane[] = []
  readonly #scheduledFlush = (): void => {
    this.#flushScheduled = false
    this.flush()
  }

  constructor(options: ResolvedOptions, pool: SlicePool, progress: SliceProgress, hooks: DispatcherHooks) {
    this.#options = options
    this.#pool = pool
    this.#progress = progress
    this.#hooks = hooks
    this.#watchdog = new TimeoutWatchdog(
      progress,
      () => this.#slices.values(),
      (session, reason) => pool.abort(session, reason),
    )
    this.#failures = new FailureHandler({
      resume: (_state, lane) => {
        this.#list(lane)
        this.flush()
      },
      deadLettered: (state, lane) => {
        if (state.deadLetterDelivered(lane)) hooks.watermarkMoved(state)
        if (state.idle) state.release(this.#touched)
        this.#list(lane)
        this.#afterAcks()
      },
      deadLetter: (state, message, error, attempts) => hooks.deadLetter(state, message, error, attempts),
    })
    this.#delivery = new OutputDelivery<InFlightSlice>(hooks, (slice, ack) => {
      this.#applyAck(slice, ack)
      this.#afterAcks()
    })
  }

  /** Slices in workers, and slices whose records are being delivered. */
  get slicesInFlight(): number {
    return this.#slices.size + this.#delivery.awaiting
  }

  /** Takes one poll's messages of one partition (offset order). */
  accept(state: PartitionState, messages: KafkaMessage[]): void {
    const touched: PartitionLane[] = []
    const skippedBefore = state.skippedDone
    const failure = state.accept(messages, touched)
    if (failure) this.#partitionerFailed(state, failure.offset, failure.error)
    for (const lane of touched) this.#list(lane)
    this.#hooks.fetched(state)
    const skipped = state.skippedDone - skippedBefore
    if (skipped > 0) {
      // Done before the handoff: acked at once, which can move the watermark.
      if (channels.skippedDone.hasSubscribers) channels.skippedDone.publish({ topic: state.topic, partition: state.partition, count: skipped })
      this.#hooks.watermarkMoved(state)
    }
  }

  #partitionerFailed(state: PartitionState, offset: number, error: unknown): void {
    const { message } = describeError(error)
    const wrapped = new KvpError(ErrorCodes.PARTITIONER, `partitioner of topic '${state.topic}' threw at partition ${state.partition} offset ${offset}: ${message}; the batch runs as one lane`, {
      cause: error,
      retryable: false,
    })
    if (channels.partitionerError.hasSubscribers) {
      channels.partitionerError.publish({ topic: state.topic, partition: state.partition, offset, error: wrapped })
    }
  }

  #list(lane: PartitionLane): void {
    const state = lane.owner
    if (lane.listed || !lane.ready(state.sealedAt) || state.revoked || state.draining) return
    lane.enlisted()
    this.#ready.push(lane)
  }

  /**
   * Packs ready lanes into tasks while a worker session has room. Each session gets its
   * share of the ready lanes in one message; acks come back per slice, so packing many
   * lanes together costs nothing in latency.
   */
  flush(): void {
    if (!this.#dispatching) return
    const pool = this.#pool
    const maxSlice = this.#options.maxSliceMessages
    while (this.#readyHead < this.#ready.length) {
      const session = pool.pick()
      if (session === undefined) break
      const share = Math.max(1, Math.ceil((this.#ready.length - this.#readyHead) / pool.threads))
      const lanes = Math.min(pool.room(session), share)
      const slices: InFlightSlice[] = []
      const wire: WireSlice[] = []
      const records = new RecordColumnsWriter()
      let total = 0
      while (slices.length < lanes && total < this.#options.maxTaskMessages && this.#readyHead < this.#ready.length) {
        const lane = this.#ready[this.#readyHead++] as PartitionLane
        lane.delisted()
        const state = lane.owner
        if (!lane.ready(state.sealedAt) || state.revoked || state.draining) continue
        const slot = this.#progress.acquire()
        if (slot < 0) {
          // Every progress slot is in use: this lane waits for the next flush.
          this.#readyHead--
          lane.enlisted()
          break
        }
        const count = lane.sendable(maxSlice, state.sealedAt)
        const id = this.#nextSliceId++
        if (this.#nextSliceId > 0xffff_fff0) this.#nextSliceId = 1
        const slice: InFlightSlice = { id, lane, state, count, attempt: lane.attempt, slot, session, timeoutMs: state.route.handlerTimeoutMs, lastProgress: 0, lastProgressAt: 0 }
        this.#slices.set(id, slice)
        slices.push(slice)
        lane.sliceSent()
        state.startedUpTo(lane.seqAt(count - 1))
        this.#drains.started(state)
        total += count
        wire.push({
          id,
          route: state.route.index,
          partition: state.partition,
          lane: lane.index,
          attempt: lane.attempt,
          slot,
          first: lane.packInto(records, count),
          count,
        })
        if (channels.slice.hasSubscribers) {
          channels.slice.publish({ topic: state.topic, partition: state.partition, lane: lane.index, size: count, attempt: lane.attempt })
        }
      }
      if (this.#readyHead > 4096 && this.#readyHead * 2 > this.#ready.length) {
        this.#ready = this.#ready.slice(this.#readyHead)
        this.#readyHead = 0
      }
      if (slices.length === 0) break
      this.#submit(session, slices, wire, records, total)
    }
    if (this.#readyHead === this.#ready.length) {
      this.#ready.length = 0
      this.#readyHead = 0
    }
  }

  #submit(session: number, slices: InFlightSlice[], wire: WireSlice[], records: RecordColumnsWriter, messages: number): void {
    const message = { task: encodeTask({ slices: wire }), records: records.finish() }
    this.#pool.send(session, message, slices.length, messages)
    for (const slice of slices) if (slice.timeoutMs !== undefined) this.#watchdog.sent(slice)
  }

  /** Acks from a worker session. */
  acks(acks: WireSliceAck[]): void {
    for (const ack of acks) this.#sliceDone(ack)
    this.#afterAcks()
  }

  /** A worker session died (or was aborted): its in-flight slices failed where they stood. */
  sessionFailed(session: number, error: unknown): void {
    const culprit = this.#watchdog.culprit(session)
    const { message, stack } = describeError(error)
    const lost: InFlightSlice[] = []
    for (const slice of this.#slices.values()) if (slice.session === session) lost.push(slice)
    for (const slice of lost) {
      const timedOut = slice.id === culprit
      // The shared progress counters say how far the slice got before its thread died.
      const handled = this.#progress.handled(slice.slot)
      const marked = slice.state.route.manualOffsets ? 0 : handled
      this.#sliceDone({
        id: slice.id,
        handled,
        marked,
        // A slice the thread got all through (its ack not yet sent) is done: failing it
        // would charge an attempt to whatever message comes next in its lane, or to none.
        failed: handled < slice.count,
        errorMessage: timedOut
          ? `handler ran past handlerTimeoutMs (${slice.state.route.handlerTimeoutMs} ms) and blocked its thread; the thread was replaced`
          : culprit !== undefined
            ? 'the worker thread was replaced because another slice on it ran past handlerTimeoutMs'
            : `worker thread died while running the slice: ${message}`,
        errorCode: timedOut ? ErrorCodes.TIMEOUT : ErrorCodes.WORKER_CRASH,
        errorStack: stack,
        durationMs: 0,
      })
    }
    this.#afterAcks()
  }

  #sliceDone(ack: WireSliceAck): void {
    const slice = this.#slices.get(ack.id)
    if (!slice) return
    this.#slices.delete(ack.id)
    this.#progress.release(slice.slot)
    this.#pool.done(slice.session, slice.count)
    // A slice whose handlers produced records is applied once they are delivered.
    if (!this.#delivery.deliver(slice, ack)) this.#applyAck(slice, ack)
  }

  #applyAck(slice: InFlightSlice, ack: WireSliceAck): void {
    const { lane, state } = slice
    const handled = Math.min(ack.handled, slice.count)
    lane.sliceReturned(handled, ack.failed)
    if (state.revoked) {
      this.#drains.ended(state)
      // Stale acks never commit (docs/guarantees.md): an ack for a revoked partition, or an older assignment of it, is dropped.
      if (channels.staleAck.hasSubscribers) channels.staleAck.publish({ topic: state.topic, partition: state.partition, generation: state.generation, handled: ack.handled })
      return
    }
    const moved = state.sliceHandled(lane, handled, Math.min(ack.marked, handled))
    if (channels.ack.hasSubscribers) {
      channels.ack.publish({ topic: state.topic, partition: state.partition, lane: lane.index, handled, failed: ack.failed, durationMs: ack.durationMs })
    }
    if (ack.failed) this.#failures.failed(state, lane, ack)
    if (moved) this.#hooks.watermarkMoved(state)
    if (state.idle) state.release(this.#touched)
    this.#list(lane)
    // Last: a drain waiting on this partition wakes only once the watermark includes the slice.
    this.#drains.ended(state)
  }

  #afterAcks(): void {
    for (const lane of this.#touched) this.#list(lane)
    this.#touched.length = 0
    this.#hooks.acksApplied()
    this.#scheduleFlush()
  }

  /**
   * Acks arrive in many small messages; lanes they free are sent together once per turn
   * of the event loop, so one task carries many lanes instead of one task per ack.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(this.#scheduledFlush)
  }

  /** Exactly-once: the partitions' seals are lifted; their waiting lanes may run. */
  unsealed(states: Iterable<PartitionState>): void {
    for (const state of states) for (const lane of state.lanes) if (lane) this.#list(lane)
    this.flush()
  }

  /** Stops starting slices; in-flight ones finish. */
  stopDispatching(): void {
    this.#dispatching = false
  }

  /**
   * Resolves true once no slice of `states` (every partition, when omitted) is in flight,
   * or false after `timeoutMs`.
   */
  drain(timeoutMs: number, states?: readonly PartitionState[]): Promise<boolean> {
    return this.#drains.drain(timeoutMs, states)
  }
}
