import type { Message as KafkaMessage } from 'node-rdkafka'
import type { VirtualKey } from '../config/options.js'
import type { Distributor, LaneProgress } from '../partitioning/distributor-types.js'
import type { Lane } from './lane.js'
import { PackedBatch } from './packed-batch.js'

/** Batches of a partition packed since a batch was: past this many it ages (./packed-batch.ts). */
const YOUNG_BATCHES = 8

/**
 * Splits one partition's batches into its lanes: the distributor picks each message's lane,
 * a counting sort groups the batch by lane (offset order kept within each lane), the batch
 * is packed once in that order, and each lane gets its run of rows. Keeps the per-lane
 * progress a backlog-balancing distributor reads, and the partition's young batches.
 */
export class LaneSplitter {
  /** Per lane: messages appended and messages done. */
  readonly #progress: LaneProgress
  readonly #distributor: Distributor
  #lanesOut = new Uint32Array(1024)
  /** Batch indices grouped by lane (the counting sort's output), and where each lane's run starts. */
  #order = new Uint32Array(1024)
  readonly #laneStarts: Uint32Array
  readonly #laneNext: Uint32Array
  /** The last YOUNG_BATCHES batches packed, oldest at `#packed % YOUNG_BATCHES`: the one a new batch pushes out ages. */
  readonly #young = new Array<PackedBatch | undefined>(YOUNG_BATCHES)
  #packed = 0

  constructor(distributor: Distributor) {
    this.#distributor = distributor
    this.#laneStarts = new Uint32Array(distributor.lanes + 1)
    this.#laneNext = new Uint32Array(distributor.lanes)
    this.#progress = { taken: new Float64Array(distributor.lanes), done: new Float64Array(distributor.lanes) }
  }

  /**
   * Appends `messages` (with their tracker `seqs`) to their lanes, by their virtual `keys`;
   * without keys (a partitioner that failed) all of them to lane 0. A lane that was empty and
   * off the ready list is pushed onto `touched`.
   */
  split<L extends Lane>(messages: KafkaMessage[], seqs: number[], keys: VirtualKey[] | undefined, laneAt: (index: number) => L, touched: L[]): void {
    const count = messages.length
    const taken = this.#progress.taken
    if (keys === undefined) {
      const lane = laneAt(0)
      taken[0] = (taken[0] as number) + count
      lane.push(this.#pack(messages, count).run(0, count), seqs)
      touched.push(lane)
      return
    }
    if (this.#lanesOut.length < count) {
      this.#lanesOut = new Uint32Array(count * 2)
      this.#order = new Uint32Array(count * 2)
    }
    const lanesOut = this.#lanesOut
    this.#distributor.distribute(keys, lanesOut, this.#progress)
    const starts = this.#laneStarts
    starts.fill(0)
    for (let i = 0; i < count; i++) {
      const at = (lanesOut[i] as number) + 1
      starts[at] = (starts[at] as number) + 1
    }
    for (let l = 1; l < starts.length; l++) starts[l] = (starts[l] as number) + (starts[l - 1] as number)
    const order = this.#order
    const next = this.#laneNext
    next.set(starts.subarray(0, next.length))
    for (let i = 0; i < count; i++) {
      const index = lanesOut[i] as number
      const at = next[index] as number
      order[at] = i
      next[index] = at + 1
    }
    const batch = this.#pack(messages, count, order)
    for (let index = 0; index < next.length; index++) {
      const from = starts[index] as number
      const to = starts[index + 1] as number
      if (to === from) continue
      const lane = laneAt(index)
      if (lane.size === 0 && !lane.listed) touched.push(lane)
      taken[index] = (taken[index] as number) + (to - from)
      lane.push(batch.run(from, to), seqs, order)
    }
  }

  /** `count` messages of lane `index` are done. */
  laneAdvanced(index: number, count: number): void {
    const done = this.#progress.done
    done[index] = (done[index] as number) + count
  }

  #pack(messages: KafkaMessage[], count: number, order?: ArrayLike<number>): PackedBatch {
    const batch = PackedBatch.pack(messages, count, order)
    const slot = this.#packed++ % YOUNG_BATCHES
    this.#young[slot]?.age()
    this.#young[slot] = batch
    return batch
  }
}
