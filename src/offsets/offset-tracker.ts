import { ErrorCodes, InternalError, KvpError } from '../errors.js'

const INITIAL_CAPACITY = 1024

/**
 * Tracks one Kafka partition's fetched offsets and which of them are done, and derives
 * the offset that is safe to commit: the lowest fetched offset not yet done (or, when
 * everything is done, the last fetched offset + 1). Pure and single-threaded: no I/O.
 *
 * Every registered offset gets a sequence number (0, 1, 2, ...). Entries live in a
 * growable circular buffer indexed by sequence number; the head (lowest live sequence
 * number) advances past entries as they are acked, releasing their slots for reuse, so
 * memory follows the span between the oldest pending entry and the newest one, never the
 * total number of offsets seen. register, ack and watermark are O(1) amortized.
 *
 * Offsets need not be contiguous: compaction and transaction markers leave gaps, and the
 * watermark jumps across them (a gap is never waited for, as it will never be fetched).
 */
export class OffsetTracker {
  #offsets: Float64Array
  #done: Uint8Array
  /** capacity - 1; capacity is always a power of two. */
  #mask: number
  readonly #minCapacity: number
  /** Sequence number of the oldest live (registered, not released) entry. */
  #headSeq = 0
  /** Buffer slot of #headSeq. Kept apart from #headSeq so sequence numbers may pass 2^32. */
  #headSlot = 0
  /** Next sequence number to hand out; #nextSeq - #headSeq entries are live. */
  #nextSeq = 0
  #pending = 0
  #last: number | undefined

  /** @param initialCapacity entries before the first growth; rounded up to a power of two. */
  constructor(initialCapacity: number = INITIAL_CAPACITY) {
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1 || initialCapacity > 2 ** 30) {
      throw new InternalError(`OffsetTracker: initialCapacity must be an integer 1..2^30, got ${initialCapacity}`)
    }
    const capacity = nextPowerOfTwo(initialCapacity)
    this.#minCapacity = capacity
    this.#offsets = new Float64Array(capacity)
    this.#done = new Uint8Array(capacity)
    this.#mask = capacity - 1
  }

  /**
   * Registers a fetched offset, which must be greater than the last one registered (gaps
   * are allowed). Returns its sequence number, the handle `ack` and `offsetOf` take.
   */
  register(offset: number): number {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new KvpError(ErrorCodes.KAFKA, `offset tracker: expected a non-negative integer offset, got ${offset}`, { retryable: false })
    }
    if (this.#last !== undefined && offset <= this.#last) {
      throw new KvpError(
        ErrorCodes.KAFKA,
        `offset tracker: offset ${offset} is not after the last registered offset ${this.#last}; offsets of a partition must be registered in increasing order (start a new tracker after a seek or a reassignment)`,
        { retryable: false },
      )
    }
    const live = this.#nextSeq - this.#headSeq
    if (live > this.#mask) this.#resize((this.#mask + 1) * 2)
    const slot = (this.#headSlot + live) & this.#mask
    this.#offsets[slot] = offset
    this.#done[slot] = 0
    this.#last = offset
    this.#pending++
    return this.#nextSeq++
  }

  /**
   * Marks sequence number `seq` done. Idempotent: a seq that is unknown, already acked or
   * already released is ignored and returns false. Returns true when the watermark moved.
   */
  ack(seq: number): boolean {
    const distance = seq - this.#headSeq
    // Also rejects NaN and fractions: only whole distances inside the live span pass.
    if (!(distance >= 0 && distance < this.#nextSeq - this.#headSeq) || !Number.isInteger(distance)) return false
    const mask = this.#mask
    const slot = (this.#headSlot + distance) & mask
    const done = this.#done
    if (done[slot] === 1) return false
    done[slot] = 1
    this.#pending--
    if (distance !== 0) return false

    // The head is done: release it and every done entry right behind it.
    let headSeq = this.#headSeq
    let headSlot = this.#headSlot
    const nextSeq = this.#nextSeq
    while (headSeq < nextSeq && done[headSlot] === 1) {
      headSeq++
      headSlot = (headSlot + 1) & mask
    }
    this.#headSeq = headSeq
    this.#headSlot = headSlot
    this.#maybeShrink()
    return true
  }

  /**
   * The offset to commit: the lowest registered offset not yet acked; when everything
   * registered is acked, the last registered offset + 1; undefined before any register.
   */
  watermark(): number | undefined {
    if (this.#nextSeq !== this.#headSeq) return this.#offsets[this.#headSlot]
    return this.#last === undefined ? undefined : this.#last + 1
  }

  /**
   * The consumer's fetch position reached `position` with every offset below it that was
   * ever delivered already registered: the offsets between the last registered one and
   * `position` were records the consumer skips (transaction markers, aborted records under
   * read_committed) and will never be registered. Later registers must be at or above
   * `position`. With nothing pending the watermark becomes `position`; otherwise it does
   * once the pending entries are acked. A position at or below the next expected offset
   * changes nothing. Returns true when the watermark moved.
   */
  advanceTo(position: number): boolean {
    if (!Number.isSafeInteger(position) || position < 0) return false
    const next = this.#last === undefined ? 0 : this.#last + 1
    if (position <= next) return false
    this.#last = position - 1
    return this.#nextSeq === this.#headSeq
  }

  /**
   * The offsets acked above the watermark, ascending: what a commit's offset map records
   * (./offset-map.ts). Empty when nothing above the watermark is done. O(live entries).
   */
  doneAbove(): number[] {
    const done: number[] = []
    const live = this.#nextSeq - this.#headSeq
    const mask = this.#mask
    for (let i = 0; i < live; i++) {
      const slot = (this.#headSlot + i) & mask
      if (this.#done[slot] === 1) done.push(this.#offsets[slot] as number)
    }
    return done
  }

  /** How many entries above the watermark are acked (registered, not yet released). */
  get doneAboveCount(): number {
    return this.#nextSeq - this.#headSeq - this.#pending
  }

  /** The sequence number the next register gets: every seq below it is registered. */
  get nextSeq(): number {
    return this.#nextSeq
  }

  /** True when every entry with a sequence number below `seq` is acked. */
  doneBefore(seq: number): boolean {
    return this.#headSeq >= seq || this.#headSeq === this.#nextSeq
  }

  /** Registered and not yet acked. */
  get pending(): number {
    return this.#pending
  }

  /** The last registered offset, or `advanceTo`'s position - 1 when that is higher. */
  get lastRegistered(): number | undefined {
    return this.#last
  }

  /** Entries the buffer holds now (for tests and diagnostics). */
  get capacity(): number {
    return this.#mask + 1
  }

  /** The offset of a live (registered, not yet released) seq, acked or not; else undefined. */
  offsetOf(seq: number): number | undefined {
    const distance = seq - this.#headSeq
    if (!(distance >= 0 && distance < this.#nextSeq - this.#headSeq) || !Number.isInteger(distance)) return undefined
    return this.#offsets[(this.#headSlot + distance) & this.#mask]
  }

  /**
   * Halves the buffer (repeatedly, down to the initial size) while the live span fits in a
   * quarter of it. The span must then double, or halve again, before the next resize, so
   * the copying stays O(1) amortized per entry.
   */
  #maybeShrink(): void {
    const live = this.#nextSeq - this.#headSeq
    let capacity = this.#mask + 1
    while (capacity > this.#minCapacity && live * 4 < capacity) capacity /= 2
    if (capacity !== this.#mask + 1) this.#resize(capacity)
  }

  /** Moves the live span to a buffer of `capacity` slots, starting at slot 0. */
  #resize(capacity: number): void {
    const offsets = new Float64Array(capacity)
    const done = new Uint8Array(capacity)
    const live = this.#nextSeq - this.#headSeq
    const oldCapacity = this.#mask + 1
    const first = Math.min(live, oldCapacity - this.#headSlot)
    offsets.set(this.#offsets.subarray(this.#headSlot, this.#headSlot + first), 0)
    done.set(this.#done.subarray(this.#headSlot, this.#headSlot + first), 0)
    if (first < live) {
      offsets.set(this.#offsets.subarray(0, live - first), first)
      done.set(this.#done.subarray(0, live - first), first)
    }
    this.#offsets = offsets
    this.#done = done
    this.#mask = capacity - 1
    this.#headSlot = 0
  }
}

function nextPowerOfTwo(n: number): number {
  let capacity = 1
  while (capacity < n) capacity *= 2
  return capacity
}
