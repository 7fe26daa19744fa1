/**
 * How far each in-flight slice has got, in memory shared with the workers. A worker
 * stores the count of handled messages after each one; when a worker dies mid-slice
 * (process.exit, an uncaught error, out of memory, a timeout abort) the main thread still
 * knows which messages were done and which message was running, so only that one is
 * charged an attempt and nothing done is run again.
 */
export class SliceProgress {
  readonly buffer: SharedArrayBuffer
  readonly #counts: Int32Array
  readonly #free: Int32Array
  #freeCount: number

  constructor(slots: number) {
    this.buffer = new SharedArrayBuffer(slots * 4)
    this.#counts = new Int32Array(this.buffer)
    this.#free = new Int32Array(slots)
    for (let i = 0; i < slots; i++) this.#free[i] = slots - 1 - i
    this.#freeCount = slots
  }

  /** A free slot reset to 0, or -1 when every slot is in use. */
  acquire(): number {
    if (this.#freeCount === 0) return -1
    const slot = this.#free[--this.#freeCount] as number
    Atomics.store(this.#counts, slot, 0)
    return slot
  }

  release(slot: number): void {
    this.#free[this.#freeCount++] = slot
  }

  handled(slot: number): number {
    return Atomics.load(this.#counts, slot)
  }
}

/** The worker's side: records progress in the shared counts. */
export function progressReporter(buffer: SharedArrayBuffer | undefined): (slot: number, handled: number) => void {
  if (!buffer) return () => {}
  const counts = new Int32Array(buffer)
  return (slot, handled) => {
    Atomics.store(counts, slot, handled)
  }
}
