import type { Message as KafkaMessage } from 'node-rdkafka'
import { BufferPool } from '../codec/buffer-pool.js'
import { RecordColumnsReader, RecordColumnsWriter } from '../codec/record-columns.js'
import type { PartitionState } from './partition-state.js'

/**
 * Buffers of packed lane messages, reused once their messages are done. Acks free chunks
 * in bursts and the next poll takes them in a burst, so the idle cap must hold about one
 * poll's worth at every partition count: below that, each poll allocated fresh buffers, and
 * `npm run bench:core` ran 16–30% slower at 16 lanes.
 */
const chunkBuffers = new BufferPool({ maxFreeBytes: 16 << 20 })

/** Packs `count` messages from `head` into a chunk for one lane. */
export function packChunk(messages: KafkaMessage[], head: number, count: number): RecordColumnsReader {
  const writer = new RecordColumnsWriter()
  writer.add(messages, head, count)
  return new RecordColumnsReader(writer.finish(chunkBuffers))
}

/**
 * One virtual partition of one Kafka partition: a FIFO of fetched messages with at most
 * one slice in flight. A dispatched slice stays at the head of the queue until its ack
 * says how far it got, so a failure leaves the failed message at the head for the retry.
 *
 * The messages are not kept as node-rdkafka's objects (about a kilobyte each, with two
 * separately allocated Buffers) but packed: each poll gives the lane one chunk holding
 * just its own messages as record columns, so a queued message costs its bytes plus a few
 * dozen, and a slow lane never keeps another lane's messages alive.
 */
export class Lane {
  readonly index: number
  /** The partition (this assignment of it) the lane belongs to. */
  readonly owner: PartitionState
  /** Packed messages, oldest first from `#chunkHead`; `#row` is the head message's row in the first. */
  #chunks: Array<RecordColumnsReader | undefined> = []
  #chunkHead = 0
  #row = 0
  /** The offset tracker's sequence number of each message, from `head` on. */
  seqs: number[] = []
  head = 0
  #busy = false
  #waiting = false
  #listed = false
  #attempt = 1
  /** Manual offsets: handled messages not yet marked consumed (their tracker seqs). */
  #unmarked: number[] = []
  /** A pending retry or dead-letter retry, cancelled on revoke or stop. */
  #timer: NodeJS.Timeout | undefined

  constructor(index: number, owner: PartitionState) {
    this.index = index
    this.owner = owner
  }

  /** A slice of this lane is running. */
  get busy(): boolean {
    return this.#busy
  }

  /** Waiting out a retry backoff or a dead-letter delivery. */
  get waiting(): boolean {
    return this.#waiting
  }

  /** Sits in the dispatcher's ready list. */
  get listed(): boolean {
    return this.#listed
  }

  /** Attempt number of the head message (1 = first try). */
  get attempt(): number {
    return this.#attempt
  }

  /** The dispatcher put the lane in its ready list, or took it out. */
  enlisted(): void {
    this.#listed = true
  }

  delisted(): void {
    this.#listed = false
  }

  /** A slice of the head messages went to a worker. */
  sliceSent(): void {
    this.#busy = true
  }

  /**
   * The slice came back having handled `handled` messages: a success, or a failure after
   * some progress, starts the (new) head message at its first attempt.
   */
  sliceReturned(handled: number, failed: boolean): void {
    this.#busy = false
    if (!failed || handled > 0) this.#attempt = 1
  }

  /** The head message failed and is retried after `delayMs`; then `resume` runs. */
  retryAfter(delayMs: number, resume: () => void): void {
    this.#waiting = true
    this.#attempt++
    this.#setTimer(delayMs, () => {
      this.#waiting = false
      resume()
    })
  }

  /** The head message is being written to the dead-letter topic: the lane waits for it. */
  awaitDeadLetter(): void {
    this.#waiting = true
  }

  /** The dead-letter write failed: `retry` runs after `delayMs`, the lane still waiting. */
  retryDeadLetterAfter(delayMs: number, retry: () => void): void {
    this.#setTimer(delayMs, retry)
  }

  /** The head message's dead letter was delivered: the next message starts fresh. */
  deadLetterDelivered(): void {
    this.#attempt = 1
    this.#waiting = false
  }

  /**
   * Manual offsets: of the `handled` head messages, the first `marked` were marked
   * consumed. Marking releases every message handled before it, so those and any left
   * unmarked earlier are done; the rest wait for a later mark. Returns the done seqs.
   */
  markedSeqs(handled: number, marked: number): number[] {
    const done: number[] = []
    if (marked > 0) {
      for (const seq of this.#unmarked) done.push(seq)
      this.#unmarked.length = 0
    }
    for (let i = 0; i < handled; i++) {
      const seq = this.seqs[this.head + i] as number
      if (i < marked) done.push(seq)
      else this.#unmarked.push(seq)
    }
    return done
  }

  get size(): number {
    return this.seqs.length - this.head
  }

  get ready(): boolean {
    if (this.#busy || this.#waiting || this.seqs.length <= this.head) return false
    const sealedAt = this.owner.sealedAt
    return sealedAt === undefined || (this.seqs[this.head] as number) < sealedAt
  }

  /**
   * How many head messages the next slice may carry, at most `max`: under a transaction
   * seal (exactly-once) only those registered before it, so a slice never mixes two
   * transactions' messages.
   */
  sendable(max: number): number {
    const count = Math.min(this.size, max)
    const sealedAt = this.owner.sealedAt
    if (sealedAt === undefined) return count
    let n = 0
    while (n < count && (this.seqs[this.head + n] as number) < sealedAt) n++
    return n
  }

  /**
   * The head message already spent `attempts` attempts before the partition was rewound
   * (its records could not be delivered in aborted transactions): its next failure counts on from there.
   */
  attemptsSpent(attempts: number): void {
    if (attempts > this.#attempt) this.#attempt = attempts
  }

  /** Appends a chunk of this lane's messages (offset order) and their tracker seqs. */
  push(chunk: RecordColumnsReader, seqs: number[]): void {
    if (chunk.count === 0) return
    this.#chunks.push(chunk)
    for (const seq of seqs) this.seqs.push(seq)
  }

  /** Packs the first `count` messages into a task's records; returns the first's index there. */
  packInto(records: RecordColumnsWriter, count: number): number {
    let first = -1
    this.#eachRun(count, (chunk, row, n) => {
      const at = records.addRows(chunk, row, n)
      if (first < 0) first = at
    })
    return first
  }

  /** Payload bytes (node-rdkafka's `size`) of the first `count` messages. */
  bytesOf(count: number): number {
    let bytes = 0
    this.#eachRun(count, (chunk, row, n) => {
      for (let r = row; r < row + n; r++) bytes += chunk.size(r)
    })
    return bytes
  }

  /** The head message, as node-rdkafka's message (for the dead-letter writer). */
  headMessage(): KafkaMessage {
    const chunk = this.#chunks[this.#chunkHead]
    if (chunk === undefined || this.size === 0) throw new RangeError(`lane ${this.index} is empty`)
    return chunk.message(this.#row, this.owner.topic, this.owner.partition)
  }

  /** The head message's offset (the oldest unfinished message of this lane), or -1 when the lane is empty. */
  headOffset(): number {
    const chunk = this.#chunks[this.#chunkHead]
    return chunk === undefined || this.size === 0 ? -1 : chunk.offset(this.#row)
  }

  /** The head message's Kafka timestamp (ms), or -1 when the lane is empty. */
  headTimestamp(): number {
    const chunk = this.#chunks[this.#chunkHead]
    return chunk === undefined || this.size === 0 ? -1 : chunk.timestamp(this.#row)
  }

  /** Offsets of the queued messages, oldest first (for tests and diagnostics). */
  offsets(): number[] {
    const offsets: number[] = []
    this.#eachRun(this.size, (chunk, row, n) => {
      for (let r = row; r < row + n; r++) offsets.push(chunk.offset(r))
    })
    return offsets
  }

  /** Drops `count` messages from the head (they are done or handed on). */
  advance(count: number): void {
    this.head += count
    let left = count
    while (left > 0) {
      const chunk = this.#chunks[this.#chunkHead] as RecordColumnsReader
      const take = Math.min(left, chunk.count - this.#row)
      this.#row += take
      left -= take
      if (this.#row === chunk.count) {
        // Nothing else holds a view into a done chunk: the slice that carried its messages
        // got its own copy, and the dead-letter writer is done with the head message.
        chunkBuffers.release(chunk.bytes.buffer as ArrayBuffer)
        this.#chunks[this.#chunkHead++] = undefined
        this.#row = 0
      }
    }
    if (this.head === this.seqs.length) {
      this.seqs.length = 0
      this.head = 0
      this.#chunks.length = 0
      this.#chunkHead = 0
    } else {
      if (this.head >= 1024 && this.head * 2 >= this.seqs.length) {
        this.seqs = this.seqs.slice(this.head)
        this.head = 0
      }
      if (this.#chunkHead >= 64 && this.#chunkHead * 2 >= this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#chunkHead)
        this.#chunkHead = 0
      }
    }
  }

  cancelTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #setTimer(delayMs: number, fn: () => void): void {
    this.cancelTimer()
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      fn()
    }, delayMs)
  }

  /** Calls `fn` for each chunk's run among the first `count` messages. */
  #eachRun(count: number, fn: (chunk: RecordColumnsReader, row: number, n: number) => void): void {
    let left = Math.min(count, this.size)
    let row = this.#row
    for (let c = this.#chunkHead; left > 0; c++) {
      const chunk = this.#chunks[c] as RecordColumnsReader
      const n = Math.min(left, chunk.count - row)
      fn(chunk, row, n)
      left -= n
      row = 0
    }
  }
}
