import type { Message as KafkaMessage } from 'node-rdkafka'
import { BufferPool } from '../codec/buffer-pool.js'
import { type RecordColumnsReader, RecordColumnsWriter } from '../codec/record-columns.js'

/**
 * Buffers of packed batches, reused once their messages are done. Acks free batches in
 * bursts and the next poll takes them in a burst, so the idle cap must hold about one
 * poll's worth at every partition count: below that, each poll allocated fresh buffers.
 */
const batchBuffers = new BufferPool({ maxFreeBytes: 16 << 20 })

/**
 * An aged batch (see age()) whose live rows fall to this fraction of its rows (or below)
 * is compacted: its lanes' rows are copied out and the batch buffer dropped, so a lane that
 * is stuck (a retry, a slow handler) pins at most about this many times its own messages'
 * bytes, beside the few young batches of its partition.
 */
const COMPACT_BELOW = 1 / 8

/** A lane's rows in a packed batch: rows [row, end) of `batch.reader` are queued in `lane`. */
export interface LaneRun {
  batch: PackedBatch
  row: number
  end: number
}

/**
 * One poll's messages of one partition, packed once into record columns with each lane's
 * messages in consecutive rows. Lanes hold runs of rows, not copies: packing a batch costs
 * one buffer and one set of column views however many lanes it feeds, where a chunk per
 * lane cost them per lane, the main thread's largest cost at hundreds of lanes. The buffer
 * goes back to the pool when every row is done.
 */
export class PackedBatch {
  readonly reader: RecordColumnsReader
  #live: number
  readonly #runs: LaneRun[] = []
  #retired = false
  #aged = false

  private constructor(reader: RecordColumnsReader) {
    this.reader = reader
    this.#live = reader.count
  }

  /**
   * Packs `messages[order[k]]` for k in [0, count) (or `messages[0..count)` without an
   * order); callers order them so that each lane's messages are consecutive.
   */
  static pack(messages: KafkaMessage[], count: number, order?: ArrayLike<number>): PackedBatch {
    const writer = new RecordColumnsWriter()
    writer.add(messages, 0, count, order)
    return new PackedBatch(writer.finishReader(batchBuffers))
  }

  /** Rows not yet done. */
  get live(): number {
    return this.#live
  }

  /** Hands rows [row, end) to a lane. */
  run(row: number, end: number): LaneRun {
    const run: LaneRun = { batch: this, row, end }
    this.#runs.push(run)
    return run
  }

  /** `count` rows of one of its runs are done (the run's `row` already moved past them). */
  done(count: number): void {
    this.#live -= count
    if (this.#live === 0) {
      // Nothing else holds a view into a done batch: the slices that carried its messages
      // got their own copies, and the dead-letter writer is done with the head message.
      if (!this.#retired) batchBuffers.release(this.reader.bytes.buffer as ArrayBuffer)
      this.#retired = true
    } else if (this.#aged && this.#live <= this.reader.count * COMPACT_BELOW) {
      this.#compact()
    }
  }

  /**
   * Its partition has packed several batches since: from now on a batch mostly done is
   * compacted. Young batches are left alone, since their lanes are usually about to finish
   * them: compacting every batch on its way to done would copy an eighth of all messages again.
   */
  age(): void {
    if (this.#aged || this.#retired) return
    this.#aged = true
    if (this.#live > 0 && this.#live <= this.reader.count * COMPACT_BELOW) this.#compact()
  }

  /**
   * Copies each run's remaining rows into a batch of its own and drops this one (to the
   * garbage collector, not the pool: a dead-letter write may still read its head message).
   */
  #compact(): void {
    this.#retired = true
    for (const run of this.#runs) {
      const count = run.end - run.row
      if (count === 0) continue
      const writer = new RecordColumnsWriter()
      writer.addRows(this.reader, run.row, count)
      const own = new PackedBatch(writer.finishReader(batchBuffers))
      own.#runs.push(run)
      run.batch = own
      run.row = 0
      run.end = count
    }
    this.#runs.length = 0
  }
}
