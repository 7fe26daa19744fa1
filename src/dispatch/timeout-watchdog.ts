import { performance } from 'node:perf_hooks'
import { ErrorCodes, KvpError } from '../errors.js'
import type { SliceProgress } from '../codec/slice-progress.js'

/** What the watchdog needs to know of an in-flight slice. */
export interface WatchedSlice {
  id: number
  slot: number
  session: number
  count: number
  timeoutMs: number | undefined
  lastProgress: number
  lastProgressAt: number
}

/** How often the watchdog looks at the progress of slices with a handlerTimeoutMs. */
const INTERVAL_MS = 100
/** Grace beyond the worker's own per-call timeout before a thread is presumed stuck. */
const GRACE_MS = 1000

/**
 * The hard deadline for routes with handlerTimeoutMs. The worker fails an overdue async
 * call itself; a call that blocks its thread (CPU-bound code cannot be interrupted) stops
 * the shared progress counters. A slice that made no progress for its timeout plus a grace
 * gets its worker session aborted: the pool terminates and replaces that thread.
 */
export class TimeoutWatchdog {
  readonly #progress: SliceProgress
  readonly #slices: () => Iterable<WatchedSlice>
  readonly #abort: (session: number, reason: KvpError) => void
  /** Sessions aborted, with the slice that overran. */
  readonly #aborted = new Map<number, number>()
  #timer: NodeJS.Timeout | undefined

  constructor(progress: SliceProgress, slices: () => Iterable<WatchedSlice>, abort: (session: number, reason: KvpError) => void) {
    this.#progress = progress
    this.#slices = slices
    this.#abort = abort
  }

  /** A slice with a timeout was sent: start its clock (and the watchdog, if idle). */
  sent(slice: WatchedSlice): void {
    slice.lastProgressAt = performance.now()
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => this.#check(), INTERVAL_MS)
    this.#timer.unref()
  }

  /** The slice whose overrun got `session` aborted (then forgotten), if any. */
  culprit(session: number): number | undefined {
    const id = this.#aborted.get(session)
    this.#aborted.delete(session)
    return id
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #check(): void {
    const now = performance.now()
    let watched = 0
    for (const slice of this.#slices()) {
      if (slice.timeoutMs === undefined) continue
      watched++
      const progress = this.#progress.handled(slice.slot)
      if (progress !== slice.lastProgress) {
        slice.lastProgress = progress
        slice.lastProgressAt = now
      } else if (now - slice.lastProgressAt > slice.timeoutMs + GRACE_MS && !this.#aborted.has(slice.session)) {
        this.#aborted.set(slice.session, slice.id)
        this.#abort(slice.session, new KvpError(ErrorCodes.TIMEOUT, 'handler ran past handlerTimeoutMs'))
      }
    }
    if (watched === 0) this.stop()
  }
}
