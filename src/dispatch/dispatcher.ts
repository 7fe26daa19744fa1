import type { Message as KafkaMessage } from 'node-rdkafka'
import { decodeTaskAck, encodeTask } from '../codec/slice-codec.js'
import type { WireMessage, WireSlice, WireSliceAck } from '../codec/slice-codec.js'
import type { ResolvedOptions } from '../config/resolve.js'
import { channels } from '../diagnostics.js'
import { ErrorCodes, KvpError, describeError } from '../errors.js'
import type { Lane } from './lane.js'
import type { PartitionState } from './partition-state.js'
import type { WorkerPool } from './pool.js'
import { backoffDelay, failureOutcome } from './retry-policy.js'
import type { SliceProgress } from './slice-progress.js'

/** What the dispatcher needs from the Kafka side. */
export interface DispatcherHooks {
  /** The partition's watermark moved: store it for the next commit. */
  watermarkMoved(state: PartitionState): void
  /** Fetched-but-not-done counts changed: pause or resume fetching. */
  inFlightChanged(state: PartitionState | undefined): void
  /** Produce a message to the route's dead-letter topic; resolves on its delivery report. */
  deadLetter(state: PartitionState, message: KafkaMessage, error: KvpError, attempts: number): Promise<void>
}

/** A lane's slice in a worker. The messages stay at the head of the lane until the ack. */
interface InFlightSlice {
  id: number
  lane: Lane
  state: PartitionState
  count: number
  attempt: number
  slot: number
}

interface InFlightTask {
  slices: InFlightSlice[]
  timer: NodeJS.Timeout | undefined
  timedOut: boolean
}

/**
 * Moves fetched messages through lanes to the worker pool and acks back into the offset
 * trackers. At most one slice per lane is in flight, so same-key messages never run at
 * once or out of order. Ready lanes are packed into tasks: a busy lane keeps queueing and
 * later sends everything it queued, so slices grow exactly when load does.
 */
export class Dispatcher {
  readonly #options: ResolvedOptions
  readonly #pool: WorkerPool
  readonly #hooks: DispatcherHooks
  readonly #progress: SliceProgress
  #ready: Lane[] = []
  #readyHead = 0
  #laneOwner = new WeakMap<Lane, PartitionState>()
  #slices = new Map<number, InFlightSlice>()
  #nextSliceId = 1
  #tasks = 0
  #drainWaiters: Array<() => void> = []
  #dispatching = true
  /** Messages in lanes across all partitions. */
  #laneMessages = 0
  bytes = 0

  constructor(options: ResolvedOptions, pool: WorkerPool, progress: SliceProgress, hooks: DispatcherHooks) {
    this.#options = options
    this.#pool = pool
    this.#progress = progress
    this.#hooks = hooks
  }

  get slicesInFlight(): number {
    return this.#slices.size
  }

  get tasksInFlight(): number {
    return this.#tasks
  }

  /** Takes one poll's messages of one partition (offset order). */
  accept(state: PartitionState, messages: KafkaMessage[]): void {
    const touched: Lane[] = []
    const before = state.laneMessages
    const bytesBefore = state.bytes
    const failure = state.accept(messages, touched)
    this.#laneMessages += state.laneMessages - before
    this.bytes += state.bytes - bytesBefore
    if (failure) this.#partitionerFailed(state, failure.offset, failure.error)
    for (const lane of touched) this.#list(state, lane)
    this.#hooks.inFlightChanged(state)
  }

  #partitionerFailed(state: PartitionState, offset: number, error: unknown): void {
    const { message } = describeError(error)
    const wrapped = new KvpError(ErrorCodes.PARTITIONER, `partitioner of topic '${state.topic}' threw at partition ${state.partition} offset ${offset}: ${message}; the batch runs as one lane`, { cause: error, retryable: false })
    if (channels.partitionerError.hasSubscribers) {
      channels.partitionerError.publish({ topic: state.topic, partition: state.partition, offset, error: wrapped })
    }
  }

  #list(state: PartitionState, lane: Lane): void {
    if (lane.listed || !lane.ready || state.revoked || state.draining) return
    lane.listed = true
    this.#laneOwner.set(lane, state)
    this.#ready.push(lane)
  }

  /** Packs ready lanes into tasks while the pool has room. */
  flush(): void {
    if (!this.#dispatching) return
    const threads = this.#pool.threads
    const maxSlice = this.#options.maxSliceMessages
    while (this.#readyHead < this.#ready.length && this.#pool.hasRoom) {
      // A task ends when its slowest slice does, so lanes are spread over every free task
      // slot (lanes free up independently), but a task carries at least MIN_TASK_MESSAGES
      // (several lanes' small slices) to amortize the round trip, and at most
      // maxTaskMessages.
      const freeSlots = this.#pool.capacity - this.#pool.inFlight
      const lanesPerTask = Math.max(1, Math.ceil((this.#ready.length - this.#readyHead) / freeSlots))
      const slices: InFlightSlice[] = []
      const wire: WireSlice[] = []
      let total = 0
      while ((slices.length < lanesPerTask || total < MIN_TASK_MESSAGES) && total < this.#options.maxTaskMessages && this.#readyHead < this.#ready.length) {
        const lane = this.#ready[this.#readyHead++] as Lane
        lane.listed = false
        const state = this.#laneOwner.get(lane) as PartitionState
        if (!lane.ready || state.revoked || state.draining) continue
        const slot = this.#progress.acquire()
        if (slot < 0) {
          // Every progress slot is in use: this lane waits for the next flush.
          this.#readyHead--
          lane.listed = true
          break
        }
        const count = Math.min(lane.size, maxSlice)
        const id = this.#nextSliceId++
        if (this.#nextSliceId > 0xffff_fff0) this.#nextSliceId = 1
        const slice: InFlightSlice = { id, lane, state, count, attempt: lane.attempt, slot }
        this.#slices.set(id, slice)
        slices.push(slice)
        lane.busy = true
        total += count
        wire.push({
          id,
          route: state.route.index,
          topic: state.topic,
          partition: state.partition,
          lane: lane.index,
          attempt: lane.attempt,
          messages: toWire(lane.messages, lane.head, count),
          slot,
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
      this.#submit(slices, wire)
    }
    if (this.#readyHead === this.#ready.length) {
      this.#ready.length = 0
      this.#readyHead = 0
    }
  }

  #submit(slices: InFlightSlice[], wire: WireSlice[]): void {
    const ids = wire.map((slice) => slice.id)
    const bytes = encodeTask({ slices: wire })
    const task: InFlightTask = { slices, timer: undefined, timedOut: false }
    let controller: AbortController | undefined
    const timeoutMs = taskTimeout(slices)
    if (timeoutMs !== undefined) {
      controller = new AbortController()
      this.#watch(task, controller, timeoutMs)
    }
    this.#tasks++
    this.#pool.run(bytes, controller?.signal).then(
      (ack) => this.#taskDone(task, ids, ack),
      (error: unknown) => this.#taskFailed(task, ids, error),
    )
  }

  /**
   * The hard deadline for tasks of routes with handlerTimeoutMs. The worker fails an
   * overdue async call itself; a call that blocks its thread (CPU-bound code cannot be
   * interrupted) stops the shared progress counters. When a slice has made no progress for
   * a whole timeout plus a grace, the task is aborted and the pool replaces the thread.
   */
  #watch(task: InFlightTask, controller: AbortController, timeoutMs: number): void {
    const seen = task.slices.map((slice) => this.#progress.handled(slice.slot))
    task.timer = setTimeout(() => {
      let stuck = false
      task.slices.forEach((slice, i) => {
        if (!this.#slices.has(slice.id)) return
        const now = this.#progress.handled(slice.slot)
        if (now < slice.count && now === seen[i]) stuck = true
      })
      if (stuck) {
        task.timedOut = true
        controller.abort(new KvpError(ErrorCodes.TIMEOUT, 'handler ran past handlerTimeoutMs'))
      } else {
        this.#watch(task, controller, timeoutMs)
      }
    }, timeoutMs + HARD_DEADLINE_GRACE_MS)
  }

  #taskDone(task: InFlightTask, ids: number[], ackBytes: Uint8Array): void {
    this.#tasks--
    if (task.timer) clearTimeout(task.timer)
    let acks: WireSliceAck[]
    try {
      acks = decodeTaskAck(ackBytes).acks
    } catch (error) {
      this.#taskFailed(task, ids, error, true)
      return
    }
    for (const ack of acks) this.#sliceDone(ack)
    this.#afterAcks()
  }

  #taskFailed(task: InFlightTask, ids: number[], error: unknown, counted = false): void {
    if (!counted) this.#tasks--
    if (task.timer) clearTimeout(task.timer)
    const { message, stack } = describeError(error)
    const code = task.timedOut ? ErrorCodes.TIMEOUT : ErrorCodes.WORKER_CRASH
    const text = task.timedOut
      ? `handler ran past handlerTimeoutMs; its worker thread was replaced`
      : `worker thread failed while running the slice: ${message}`
    for (const id of ids) {
      // The shared progress counters say how far the slice got before its thread died.
      const slice = this.#slices.get(id)
      const handled = slice ? this.#progress.handled(slice.slot) : 0
      const marked = slice && !slice.state.route.manualOffsets ? handled : 0
      this.#sliceDone({ id, handled, marked, failed: true, errorMessage: text, errorCode: code, errorStack: stack, durationMs: 0 })
    }
    this.#afterAcks()
  }

  #sliceDone(ack: WireSliceAck): void {
    const slice = this.#slices.get(ack.id)
    if (!slice) return
    this.#slices.delete(ack.id)
    this.#progress.release(slice.slot)
    const { lane, state } = slice
    lane.busy = false
    if (state.revoked) {
      // Invariant 5: an ack for a revoked partition (or an older assignment of it) is never committed.
      if (channels.staleAck.hasSubscribers) channels.staleAck.publish({ topic: state.topic, partition: state.partition, generation: state.generation, handled: ack.handled })
      this.#release()
      return
    }
    const handled = Math.min(ack.handled, slice.count)
    let moved = false
    if (state.route.manualOffsets) {
      const marked = Math.min(ack.marked, handled)
      if (marked > 0) {
        for (const seq of lane.unmarked) moved = state.tracker.ack(seq) || moved
        lane.unmarked.length = 0
      }
      for (let i = 0; i < handled; i++) {
        const seq = lane.seqs[lane.head + i] as number
        if (i < marked) moved = state.tracker.ack(seq) || moved
        else lane.unmarked.push(seq)
      }
    } else {
      for (let i = 0; i < handled; i++) moved = state.tracker.ack(lane.seqs[lane.head + i] as number) || moved
    }
    this.#consume(state, lane, handled)
    if (channels.ack.hasSubscribers) {
      channels.ack.publish({ topic: state.topic, partition: state.partition, lane: lane.index, handled, failed: ack.failed, durationMs: ack.durationMs })
    }
    if (ack.failed) {
      if (handled > 0) lane.attempt = 1
      this.#laneFailed(state, lane, ack)
    } else {
      lane.attempt = 1
    }
    if (moved) this.#hooks.watermarkMoved(state)
    if (state.idle) state.release(this.#touched)
    this.#list(state, lane)
  }

  #touched: Lane[] = []

  /** Removes `count` done messages from the head of a lane. */
  #consume(state: PartitionState, lane: Lane, count: number): void {
    if (count === 0) return
    let bytes = 0
    for (let i = 0; i < count; i++) bytes += (lane.messages[lane.head + i] as KafkaMessage).size
    lane.advance(count)
    state.laneMessages -= count
    state.handled += count
    state.bytes -= bytes
    this.#laneMessages -= count
    this.bytes -= bytes
  }

  #laneFailed(state: PartitionState, lane: Lane, ack: WireSliceAck): void {
    const route = state.route
    const attempt = lane.attempt
    state.failures++
    const error = new KvpError(
      (ack.errorCode.startsWith('KVP_') ? ack.errorCode : ErrorCodes.HANDLER) as KvpError['code'],
      ack.errorMessage,
    )
    if (ack.errorStack) error.stack = ack.errorStack
    const message = lane.messages[lane.head] as KafkaMessage
    const outcome = failureOutcome(attempt, route.maxAttempts, route.deadLetter !== undefined, error.code)
    const delayMs = outcome === 'retry' ? backoffDelay(attempt, route.backoffMs, route.maxBackoffMs) : 0
    if (channels.handlerError.hasSubscribers) {
      channels.handlerError.publish({ topic: state.topic, partition: state.partition, offset: message.offset, attempt, error, willRetry: outcome === 'retry', delayMs })
    }
    lane.waiting = true
    if (outcome === 'retry') {
      lane.attempt = attempt + 1
      lane.timer = setTimeout(() => {
        lane.timer = undefined
        lane.waiting = false
        this.#list(state, lane)
        this.flush()
      }, delayMs)
      return
    }
    this.#sendToDeadLetter(state, lane, message, error, attempt)
  }

  #sendToDeadLetter(state: PartitionState, lane: Lane, message: KafkaMessage, error: KvpError, attempts: number, tries = 1): void {
    const seq = lane.seqs[lane.head] as number
    this.#hooks.deadLetter(state, message, error, attempts).then(
      () => {
        if (state.revoked) return
        // Invariant 1: the offset counts as done only after the dead-letter delivery report.
        state.deadLettered++
        const moved = state.tracker.ack(seq)
        this.#consume(state, lane, 1)
        lane.attempt = 1
        lane.waiting = false
        if (moved) this.#hooks.watermarkMoved(state)
        if (state.idle) state.release(this.#touched)
        this.#list(state, lane)
        this.#afterAcks()
      },
      (produceError: unknown) => {
        if (state.revoked) return
        const delayMs = backoffDelay(tries, state.route.backoffMs, state.route.maxBackoffMs)
        if (channels.handlerError.hasSubscribers) {
          const wrapped = new KvpError(ErrorCodes.DEAD_LETTER, `could not write offset ${message.offset} to dead-letter topic '${state.route.deadLetter?.topic}': ${describeError(produceError).message}; retrying in ${delayMs} ms`, { cause: produceError })
          channels.handlerError.publish({ topic: state.topic, partition: state.partition, offset: message.offset, attempt: attempts, error: wrapped, willRetry: true, delayMs })
        }
        lane.timer = setTimeout(() => {
          lane.timer = undefined
          if (!state.revoked) this.#sendToDeadLetter(state, lane, message, error, attempts, tries + 1)
        }, delayMs)
      },
    )
  }

  #afterAcks(): void {
    for (const lane of this.#touched) {
      const state = this.#laneOwner.get(lane)
      if (state) this.#list(state, lane)
    }
    this.#touched.length = 0
    this.#hooks.inFlightChanged(undefined)
    this.flush()
    this.#release()
  }

  #release(): void {
    if (this.#tasks === 0 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters
      this.#drainWaiters = []
      for (const wake of waiters) wake()
    }
  }

  /** Registers lanes created by `state.release` outside an ack (e.g. a held batch). */
  listTouched(state: PartitionState, lanes: Lane[]): void {
    for (const lane of lanes) this.#list(state, lane)
  }

  /** Stops starting slices; in-flight ones finish. */
  stopDispatching(): void {
    this.#dispatching = false
  }

  /** Resolves when no task is in flight (or after `timeoutMs`; then resolves false). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.#tasks === 0) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.#drainWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  /** Slices in flight for one partition state. */
  inFlightFor(state: PartitionState): number {
    let count = 0
    for (const slice of this.#slices.values()) if (slice.state === state) count++
    return count
  }
}

/** Grace beyond the worker's own per-call timeout before the thread is presumed stuck. */
const HARD_DEADLINE_GRACE_MS = 1000

/** Fewest messages worth a task of their own when more lanes are ready. */
const MIN_TASK_MESSAGES = Number(process.env.KVP_MIN_TASK ?? 16)

/** The longest handlerTimeoutMs among a task's slices, or undefined when none has one. */
function taskTimeout(slices: InFlightSlice[]): number | undefined {
  let timeout: number | undefined
  for (const slice of slices) {
    const perMessage = slice.state.route.handlerTimeoutMs
    if (perMessage !== undefined) timeout = timeout === undefined ? perMessage : Math.max(timeout, perMessage)
  }
  return timeout
}

/** node-rdkafka's message objects encode as they are, unless they carry headers or a string key. */
function toWire(messages: KafkaMessage[], head: number, count: number): WireMessage[] {
  const out = new Array<WireMessage>(count)
  for (let i = 0; i < count; i++) {
    const m = messages[head + i] as KafkaMessage
    if (m.headers === undefined && typeof m.key !== 'string') {
      out[i] = m as unknown as WireMessage
      continue
    }
    out[i] = {
      offset: m.offset,
      key: typeof m.key === 'string' ? Buffer.from(m.key) : m.key,
      value: m.value,
      timestamp: m.timestamp,
      hdrs: m.headers?.flatMap((header) => Object.entries(header).map(([key, value]) => ({ key, value: typeof value === 'string' ? Buffer.from(value) : value }))),
    }
  }
  return out
}
