import type { OffsetMap } from './offset-map.js'

/**
 * The offsets a partition's previous owner recorded as done above its committed offset (an
 * offset map read back at assignment, ./offset-map.ts). As the same offsets are fetched
 * again, in increasing order, `has` tells which of them not to hand to a handler again.
 * Offsets at or past `coveredUntil` were not recorded: they are never known done.
 */
export class KnownDone {
  readonly #done: readonly number[]
  readonly coveredUntil: number
  #next = 0

  constructor(map: Pick<OffsetMap, 'done' | 'coveredUntil'>) {
    this.#done = map.done
    this.coveredUntil = map.coveredUntil
  }

  /** How many offsets the map records as done. */
  get size(): number {
    return this.#done.length
  }

  /** Whether `offset` was done. Asked with increasing offsets; an offset skipped over is forgotten. */
  has(offset: number): boolean {
    const done = this.#done
    while (this.#next < done.length && (done[this.#next] as number) < offset) this.#next++
    if (this.#next < done.length && done[this.#next] === offset) {
      this.#next++
      return true
    }
    return false
  }

  /** Every recorded offset has been passed: nothing more to skip. */
  get exhausted(): boolean {
    return this.#next >= this.#done.length
  }
}
