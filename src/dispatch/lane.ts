import type { Message as KafkaMessage } from 'node-rdkafka'
import type { RecordColumnsReader, RecordColumnsWriter } from '../codec/record-columns.js'
import type { LaneRun } from './packed-batch.js'
import { InternalError } from '../errors.js'

/**
 * One virtual partition of one Kafka partition: a FIFO of fetched messages with at most
 * one slice in flight. A dispatched slice stays at the head of the queue until its ack
 * says how far it got, so a failure leaves the failed message at the head for the retry.
 *
 * The messages are not kept as node-rdkafka's objects (about a kilobyte each, with two
 * separately allocated Buffers) but packed: each poll packs a partition's batch once, each
 * lane's messages in consecutive rows, and the lane holds its run of rows. A queued
 * message costs its bytes plus a few dozen; a slow lane keeps other lanes' messages alive
 * only until their batch is compacted (./packed-batch.ts).
 *
 * The lane knows nothing of its partition's state: it carries its `owner` for the dispatcher
 * without reading it, and is handed the partition's transaction seal where that matters.
 */
export class Lane<Owner = unknown> {
  readonly index: number
  /** The partition (this assignment of it) the lane belongs to; the lane itself never reads it. */
  readonly owner: Owner
  readonly #topic: string
  readonly #partition: number
  /** Runs of packed messages, oldest first from `#runHead`; the first run's `row` is the head message. */
  #runs: Array<LaneRun | undefined> = []
  #runHead = 0
  /** The offset tracker's sequence number of each message, from `#head` on. */
  #seqs: number[] = []
  #head = 0
  #busy = false
  #waiting = false
  #listed = false
  #attempt = 1
  /** Manual offsets: handled messages not yet marked consumed (their tracker seqs). */
  #unmarked: number[] = []
  /** A pending retry or dead-letter retry, cancelled on revoke or stop. */
  #timer: NodeJS.Timeout | undefined

  constructor(index: number, owner: Owner, topic: string, partition: number) {
    this.index = index
    this.owner = owner
    this.#topic = topic
    this.#partition = partition
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
      const seq = this.seqAt(i)
      if (i < marked) done.push(seq)
      else this.#unmarked.push(seq)
    }
    return done
  }

  /** Messages waiting in the lane (the head ones may be running). */
  get size(): number {
    return this.#seqs.length - this.#head
  }

  /** The tracker seq of the `i`-th waiting message (0: the head message). */
  seqAt(i: number): number {
    return this.#seqs[this.#head + i] as number
  }

  /**
   * The lane may start a slice: it has messages, none running, no retry or dead letter
   * pending, and its head message is below the partition's transaction seal `sealedAt`
   * (undefined: not sealed).
   */
  ready(sealedAt: number | undefined): boolean {
    if (this.#busy || this.#waiting || this.#seqs.length <= this.#head) return false
    return sealedAt === undefined || this.seqAt(0) < sealedAt
  }

  /**
   * How many head messages the next slice may carry, at most `max`: under a transaction
   * seal `sealedAt` (exactly-once) only those registered before it, so a slice never mixes
   * two transactions' messages.
   */
  sendable(max: number, sealedAt: number | undefined): number {
    const count = Math.min(this.size, max)
    if (sealedAt === undefined) return count
    let n = 0
    while (n < count && this.seqAt(n) < sealedAt) n++
    return n
  }

  /**
   * The head message already spent `attempts` attempts before the partition was rewound
   * (its records could not be delivered in aborted transactions): its next failure counts on from there.
   */
  attemptsSpent(attempts: number): void {
    if (attempts > this.#attempt) this.#attempt = attempts
  }

  /**
   * Appends a run of this lane's messages (offset order) and their tracker seqs: `seqs`
   * in order, or with `order` the seqs at `order[run.row..run.end)` (the batch's packing order).
   */
  push(run: LaneRun, seqs: ArrayLike<number>, order?: ArrayLike<number>): void {
    if (run.end === run.row) return
    this.#runs.push(run)
    const own = this.#seqs
    if (order === undefined) {
      for (let i = 0; i < seqs.length; i++) own.push(seqs[i] as number)
    } else {
      for (let i = run.row; i < run.end; i++) own.push(seqs[order[i] as number] as number)
    }
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

  /** The head message, as node-rdkafka's message (for the dead-letter writer). */
  headMessage(): KafkaMessage {
    const run = this.#runs[this.#runHead]
    if (run === undefined || this.size === 0) throw new InternalError(`lane ${this.index} is empty`)
    return run.batch.reader.message(run.row, this.#topic, this.#partition)
  }

  /** The head message's offset (the oldest unfinished message of this lane), or -1 when the lane is empty. */
  headOffset(): number {
    const run = this.#runs[this.#runHead]
    return run === undefined || this.size === 0 ? -1 : run.batch.reader.offset(run.row)
  }

  /** The head message's Kafka timestamp (ms), or -1 when the lane is empty. */
  headTimestamp(): number {
    const run = this.#runs[this.#runHead]
    return run === undefined || this.size === 0 ? -1 : run.batch.reader.timestamp(run.row)
  }

  /** Tracker seqs of the queued messages, oldest first (for tests and diagnostics). */
  seqs(): number[] {
    return this.#seqs.slice(this.#head)
  }

  /** Offsets of the queued messages, oldest first (for tests and diagnostics). */
  offsets(): number[] {
    const offsets: number[] = []
    this.#eachRun(this.size, (chunk, row, n) => {
      for (let r = row; r < row + n; r++) offsets.push(chunk.offset(r))
    })
    return offsets
  }

  /**
   * Drops `count` messages from the head (they are done or handed on). Returns their
   * payload bytes (node-rdkafka's `size`).
   */
  advance(count: number): number {
    this.#head += count
    let left = count
    let bytes = 0
    while (left > 0) {
      const run = this.#runs[this.#runHead] as LaneRun
      const reader = run.batch.reader
      const take = Math.min(left, run.end - run.row)
      for (let r = run.row; r < run.row + take; r++) bytes += reader.size(r)
      run.row += take
      left -= take
      const finished = run.row === run.end
      run.batch.done(take)
      if (finished) this.#runs[this.#runHead++] = undefined
    }
    if (this.#head === this.#seqs.length) {
      this.#seqs.length = 0
      this.#head = 0
      this.#runs.length = 0
      this.#runHead = 0
    } else {
      if (this.#head >= 1024 && this.#head * 2 >= this.#seqs.length) {
        this.#seqs = this.#seqs.slice(this.#head)
        this.#head = 0
      }
      if (this.#runHead >= 64 && this.#runHead * 2 >= this.#runs.length) {
        this.#runs = this.#runs.slice(this.#runHead)
        this.#runHead = 0
      }
    }
    return bytes
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

  /** Calls `fn` for each run's rows among the first `count` messages. */
  #eachRun(count: number, fn: (reader: RecordColumnsReader, row: number, n: number) => void): void {
    let left = Math.min(count, this.size)
    for (let c = this.#runHead; left > 0; c++) {
      const run = this.#runs[c] as LaneRun
      const n = Math.min(left, run.end - run.row)
      fn(run.batch.reader, run.row, n)
      left -= n
    }
  }
}
