import { performance } from 'node:perf_hooks'
import type { EventLoopUtilization } from 'node:perf_hooks'

/** `performance.eventLoopUtilization` of one thread (the main thread's, or a worker's). */
export type MeasureLoop = (current?: EventLoopUtilization, previous?: EventLoopUtilization) => EventLoopUtilization

/**
 * An event loop's utilisation (0–1) over windows of at least `windowMs`: reading it returns
 * the last whole window's value and starts the next window once this one is long enough,
 * so a reader may come as often as it likes and still gets a figure over a span that means
 * something. 0 until the first window ends.
 */
export class LoopUtilization {
  readonly #measure: MeasureLoop
  readonly #windowMs: number
  #since: EventLoopUtilization
  #at: number
  #value = 0

  constructor(measure: MeasureLoop, windowMs: number, now: number = performance.now()) {
    this.#measure = measure
    this.#windowMs = windowMs
    this.#since = measure()
    this.#at = now
  }

  read(now: number = performance.now()): number {
    if (now - this.#at >= this.#windowMs) {
      const current = this.#measure()
      this.#value = this.#measure(current, this.#since).utilization
      this.#since = current
      this.#at = now
    }
    return this.#value
  }
}
