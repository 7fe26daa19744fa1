import type { VirtualKey } from '../config/options.js'
import type { Distributor } from './distributor-types.js'
import { hashKey } from './hash.js'
import { siftDown } from './lane-heap.js'

/**
 * Spreads each batch by load rather than by hash, for skewed keys: the batch's messages
 * are grouped by key, the groups taken largest first (ties: the earlier first offset),
 * and each group goes whole to the lane with the fewest messages so far (ties: the lower
 * lane). A key is never split across lanes within a batch, but it may land in another
 * lane in the next batch, so the dispatcher must let a partition go idle between batches
 * (needsBarrier). The outcome depends only on the batch, so it is deterministic.
 *
 * Keys are grouped by hashKey, so a string, its UTF-8 Buffer and a number with that
 * decimal string are one key, as in the consistent distributor. Two different keys whose
 * 32-bit hashes collide share a group: that costs a little balance, never order (only
 * splitting a key could), and it spares decoding every Buffer key into a string.
 *
 * Each message with a null or undefined key is a group of its own, so null-keyed
 * messages spread over the lanes and carry no order relative to each other.
 */
export class BalancedDistributor implements Distributor {
  readonly lanes: number
  readonly needsBarrier = true

  /**
   * Key hash -> group, an open-addressing table (linear probing) sized to twice the
   * largest batch. A slot is live only if its stamp is this batch's, so nothing is cleared
   * between batches.
   */
  #slotHash = new Uint32Array(0)
  #slotGroup = new Uint32Array(0)
  #slotStamp = new Uint32Array(0)
  #stamp = 0
  /** Per message: its group. */
  #messageGroup = new Uint32Array(0)
  /** Per group: its size and assigned lane; #order: group ids, largest first. */
  #groupSize = new Uint32Array(0)
  #groupLane = new Uint32Array(0)
  #order = new Uint32Array(0)
  /** Counting-sort scratch: per group size (largest first), where its groups start in #order. */
  #sizeStart = new Uint32Array(0)
  /** Per lane: messages assigned in this batch. #heap: lanes as a min-heap by (load, lane). */
  readonly #load: Float64Array
  readonly #heap: Uint32Array

  constructor(lanes: number) {
    this.lanes = lanes
    this.#load = new Float64Array(lanes)
    this.#heap = new Uint32Array(lanes)
  }

  distribute(keys: readonly VirtualKey[], lanesOut: Uint32Array): void {
    const count = keys.length
    if (this.lanes === 1) {
      lanesOut.fill(0, 0, count)
      return
    }
    if (count === 0) return
    this.#ensureCapacity(count)
    const messageGroup = this.#messageGroup
    const groupSize = this.#groupSize
    const slotHash = this.#slotHash
    const slotGroup = this.#slotGroup
    const slotStamp = this.#slotStamp
    const slotMask = slotHash.length - 1
    const stamp = this.#nextStamp()

    // 1. Group by key hash; group ids follow first appearance.
    let groups = 0
    for (let i = 0; i < count; i++) {
      const key = keys[i]
      let group: number | undefined
      if (key !== null && key !== undefined) {
        const hash = hashKey(key)
        let slot = hash & slotMask
        while (slotStamp[slot] === stamp && slotHash[slot] !== hash) slot = (slot + 1) & slotMask
        if (slotStamp[slot] === stamp) {
          group = slotGroup[slot] as number
        } else {
          slotStamp[slot] = stamp
          slotHash[slot] = hash
          slotGroup[slot] = groups
        }
      }
      if (group === undefined) {
        group = groups++
        groupSize[group] = 0
      }
      groupSize[group] = (groupSize[group] as number) + 1
      messageGroup[i] = group
    }

    // 2. Largest group first; ties in order of first appearance, which is first-offset
    //    order since a batch is in fetch order. A counting sort: O(messages), no comparator.
    let largest = 0
    for (let g = 0; g < groups; g++) largest = Math.max(largest, groupSize[g] as number)
    const start = this.#sizeStart.subarray(0, largest + 2)
    start.fill(0)
    for (let g = 0; g < groups; g++) {
      const slot = largest - (groupSize[g] as number) + 1
      start[slot] = (start[slot] as number) + 1
    }
    for (let k = 1; k < start.length; k++) start[k] = (start[k] as number) + (start[k - 1] as number)
    const order = this.#order
    for (let g = 0; g < groups; g++) {
      const slot = largest - (groupSize[g] as number)
      order[start[slot] as number] = g
      start[slot] = (start[slot] as number) + 1
    }

    // 3. Each group to the least-loaded lane.
    const load = this.#load
    const heap = this.#heap
    const lanes = this.lanes
    load.fill(0)
    for (let lane = 0; lane < lanes; lane++) heap[lane] = lane
    const groupLane = this.#groupLane
    for (let k = 0; k < groups; k++) {
      const group = order[k] as number
      const lane = heap[0] as number
      groupLane[group] = lane
      load[lane] = (load[lane] as number) + (groupSize[group] as number)
      siftDown(heap, load, lanes)
    }

    for (let i = 0; i < count; i++) lanesOut[i] = groupLane[messageGroup[i] as number] as number
  }

  #nextStamp(): number {
    if (this.#stamp === 0xffffffff) {
      this.#slotStamp.fill(0)
      this.#stamp = 0
    }
    return ++this.#stamp
  }

  #ensureCapacity(count: number): void {
    if (this.#messageGroup.length >= count) return
    let capacity = Math.max(64, this.#messageGroup.length)
    while (capacity < count) capacity *= 2
    this.#messageGroup = new Uint32Array(capacity)
    this.#groupSize = new Uint32Array(capacity)
    this.#groupLane = new Uint32Array(capacity)
    this.#order = new Uint32Array(capacity)
    this.#sizeStart = new Uint32Array(capacity + 2)
    this.#slotHash = new Uint32Array(capacity * 2)
    this.#slotGroup = new Uint32Array(capacity * 2)
    this.#slotStamp = new Uint32Array(capacity * 2)
    this.#stamp = 0
  }
}
