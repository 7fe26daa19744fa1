/**
 * Free lists of ArrayBuffers in power-of-two sizes, for buffers whose end of life the code
 * knows exactly (a lane's packed messages, dropped once handled). Reusing them keeps the
 * engine off the allocator: fresh buffers die in V8's old space and stay allocated until a
 * full GC, and many short-lived sizes fragment malloc's heap — both showed up as resident
 * memory that grew with the number of messages processed.
 */
export class BufferPool {
  readonly #free: ArrayBuffer[][] = []
  readonly #minShift: number
  readonly #maxShift: number
  readonly #maxFreeBytes: number
  #freeBytes = 0

  /** Pools sizes from `minBytes` to `maxBytes` (powers of two), keeping at most `maxFreeBytes` idle. */
  constructor(options: { minBytes?: number; maxBytes?: number; maxFreeBytes?: number } = {}) {
    this.#minShift = Math.ceil(Math.log2(options.minBytes ?? 256))
    this.#maxShift = Math.ceil(Math.log2(options.maxBytes ?? 1 << 20))
    this.#maxFreeBytes = options.maxFreeBytes ?? 1 << 20
  }

  /** Bytes held idle in the free lists. */
  get freeBytes(): number {
    return this.#freeBytes
  }

  /** A buffer of at least `bytes` (its contents are whatever it last held). */
  acquire(bytes: number): ArrayBuffer {
    const shift = Math.max(this.#minShift, Math.ceil(Math.log2(Math.max(1, bytes))))
    if (shift > this.#maxShift) return new ArrayBuffer(bytes)
    const buffer = this.#free[shift]?.pop()
    if (buffer !== undefined) {
      this.#freeBytes -= buffer.byteLength
      return buffer
    }
    return new ArrayBuffer(2 ** shift)
  }

  /** Hands a buffer from `acquire` back; nothing may use it afterwards. */
  release(buffer: ArrayBuffer): void {
    const size = buffer.byteLength
    const shift = Math.log2(size)
    if (!Number.isInteger(shift) || shift < this.#minShift || shift > this.#maxShift) return
    if (this.#freeBytes + size > this.#maxFreeBytes) return
    let list = this.#free[shift]
    if (list === undefined) {
      list = []
      this.#free[shift] = list
    }
    list.push(buffer)
    this.#freeBytes += size
  }
}
