/**
 * Counts the slices in flight per partition (this assignment of it: the dispatcher keys it
 * by partition state) and wakes the drains waiting for a set of partitions to have none:
 * a revoke drains the partitions it takes away, a stop drains them all.
 */
export class SliceDrain<Partition> {
  /** Slices in flight per partition; a partition with none has no entry. */
  readonly #inFlight = new Map<Partition, number>()
  #waiters: Array<{ partitions: readonly Partition[]; wake: () => void }> = []

  /** A slice of `partition` started. */
  started(partition: Partition): void {
    this.#inFlight.set(partition, (this.#inFlight.get(partition) ?? 0) + 1)
  }

  /** A slice of `partition` ended: a drain that now has nothing left in flight wakes. */
  ended(partition: Partition): void {
    const left = (this.#inFlight.get(partition) ?? 1) - 1
    if (left > 0) {
      this.#inFlight.set(partition, left)
      return
    }
    this.#inFlight.delete(partition)
    if (this.#waiters.length === 0) return
    const waiting = this.#waiters
    this.#waiters = []
    for (const waiter of waiting) {
      if (waiter.partitions.some((p) => this.#inFlight.has(p))) this.#waiters.push(waiter)
      else waiter.wake()
    }
  }

  /**
   * Resolves true once no slice of `partitions` (every partition with one in flight now,
   * when omitted) is in flight, or false after `timeoutMs`.
   */
  drain(timeoutMs: number, partitions?: readonly Partition[]): Promise<boolean> {
    const watched = partitions ?? [...this.#inFlight.keys()]
    if (!watched.some((partition) => this.#inFlight.has(partition))) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const waiter = {
        partitions: watched,
        wake: () => {
          clearTimeout(timer)
          resolve(true)
        },
      }
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter)
        resolve(false)
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }
}
