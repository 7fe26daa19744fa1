/**
 * Throughput of one benchmark run, measured the same way for every system: the messages
 * handled after the first observation, divided by the time from that observation to the
 * last. The group join and the fetch of the first batch stay outside the measured span.
 */
import { performance } from 'node:perf_hooks'

export interface Measurement {
  /** Messages handled in all. */
  handled: number
  /** Measured span: first observed handled message to the last, in seconds. */
  seconds: number
  msgPerSec: number
  /** True when the run stopped on its time box before handling every prefilled message. */
  timeBoxed: boolean
  /** From the start of the run (client creation) to the first handled message: join + first fetch. */
  startupMs: number
  /**
   * Peak resident set during the run, in MiB: a JVM peer's own process (VmHWM); for the
   * systems that run inside the benchmark's process, that process's highest sample.
   */
  peakRssMiB?: number
}

export interface MeterOptions {
  /** Stop once this many messages are handled. */
  target: number
  /** Stop this long after the first handled message, whatever was handled. */
  timeBoxMs: number
  /** Called at most every 100 ms with the messages handled so far. */
  onProgress?: ((handled: number) => void) | undefined
  /** Give up when nothing is handled for this long (a join that never completes, a stuck system). */
  stallMs?: number
}

const PROGRESS_EVERY_MS = 100
const DEFAULT_STALL_MS = 30_000

export class ThroughputMeter {
  readonly #options: MeterOptions
  readonly #startedAt = performance.now()
  #firstAt = -1
  #firstCount = 0
  #lastAt = 0
  #count = 0
  #progressAt = 0
  #timeBoxed = false

  constructor(options: MeterOptions) {
    this.#options = options
  }

  get handled(): number {
    return this.#count
  }

  /** Adds `n` handled messages; true when the run should stop. */
  add(n: number): boolean {
    return this.observe(this.#count + n)
  }

  /** Records that `total` messages are handled in all; true when the run should stop. */
  observe(total: number): boolean {
    const now = performance.now()
    if (total > this.#count) {
      if (this.#firstAt < 0) {
        this.#firstAt = now
        this.#firstCount = total
      }
      this.#count = total
      this.#lastAt = now
    }
    if (now - this.#progressAt >= PROGRESS_EVERY_MS) {
      this.#progressAt = now
      this.#options.onProgress?.(this.#count)
    }
    if (this.#count >= this.#options.target) return true
    if (this.#firstAt >= 0 && now - this.#firstAt >= this.#options.timeBoxMs) {
      this.#timeBoxed = true
      return true
    }
    return false
  }

  /** Throws when nothing has been handled for the stall limit. */
  checkStall(system: string): void {
    const since = this.#firstAt < 0 ? this.#startedAt : this.#lastAt
    const stallMs = this.#options.stallMs ?? DEFAULT_STALL_MS
    if (performance.now() - since > stallMs) {
      throw new Error(`${system}: no message handled for ${Math.round(stallMs / 1000)} s (handled ${this.#count} of ${this.#options.target})`)
    }
  }

  result(): Measurement {
    this.#options.onProgress?.(this.#count)
    const seconds = this.#firstAt < 0 ? 0 : (this.#lastAt - this.#firstAt) / 1000
    const measured = this.#count - this.#firstCount
    return {
      handled: this.#count,
      seconds,
      msgPerSec: seconds > 0 ? measured / seconds : 0,
      timeBoxed: this.#timeBoxed,
      startupMs: this.#firstAt < 0 ? 0 : this.#firstAt - this.#startedAt,
    }
  }
}
