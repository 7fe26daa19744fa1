import type { VirtualKey } from '../config/options.js'
import type { Distributor, LaneProgress } from './distributor-types.js'
import { hashKey } from './hash.js'
import { heapify, siftDown } from './lane-heap.js'

/** Key slots per lane: enough that few of a partition's keys share one. */
const SLOTS_PER_LANE = 64
const MIN_SLOTS = 4096

/**
 * A key keeps its lane while it has messages there; a key with none goes to the least
 * loaded lane (the fewest messages queued or running; ties: the lower lane).
 *
 * Per-key order holds without a batch barrier: a key moves only once every earlier
 * message of it is done, and a lane runs its messages in offset order. Load follows the
 * backlog instead of the hash, so the keys that have work spread evenly over the lanes
 * however the hash happens to fall (with `consistent`, 2,000 keys in 256 lanes put 21
 * on the busiest lane where the mean is 7.8, and that lane's 1 ms per message caps the
 * whole partition).
 *
 * Keys are tracked by slot, hashKey(key) masked to a power of two: two keys sharing a
 * slot move together, which costs a little balance, never order. Null and undefined keys
 * share a slot of their own, so null-keyed messages keep their relative order.
 *
 * Lanes report their progress (LaneProgress); without it no message ever counts as done,
 * so each key keeps the lane it was first given.
 */
export class StickyDistributor implements Distributor {
  readonly lanes: number
  readonly needsBarrier = false
  readonly #mask: number
  /** Per slot: its lane, and that lane's `taken` count just after the slot's last message (the slot is free once `done` reaches it). */
  readonly #slotLane: Uint16Array
  readonly #slotUntil: Float64Array
  /** Per lane: `taken` plus what this batch has given it so far. */
  readonly #assigned: Float64Array
  /** A lazy min-heap of lanes by the backlog they had when last placed in it (./lane-heap.ts). */
  readonly #heap: Uint32Array
  readonly #heapLoad: Float64Array
  /** Stand-ins for a caller that reports no progress: its taken counts, and nothing done. */
  readonly #ownProgress: LaneProgress

  constructor(lanes: number) {
    this.lanes = lanes
    let slots = MIN_SLOTS
    while (slots < lanes * SLOTS_PER_LANE) slots *= 2
    this.#mask = slots - 1
    this.#slotLane = new Uint16Array(slots + 1)
    this.#slotUntil = new Float64Array(slots + 1)
    this.#assigned = new Float64Array(lanes)
    this.#heap = new Uint32Array(lanes)
    this.#heapLoad = new Float64Array(lanes)
    this.#ownProgress = { taken: new Float64Array(lanes), done: new Float64Array(lanes) }
  }

  distribute(keys: readonly VirtualKey[], lanesOut: Uint32Array, progress?: LaneProgress): void {
    const count = keys.length
    if (this.lanes === 1) {
      lanesOut.fill(0, 0, count)
      return
    }
    const own = progress === undefined
    const { taken, done } = progress ?? this.#ownProgress
    const assigned = this.#assigned
    assigned.set(taken)
    const slotLane = this.#slotLane
    const slotUntil = this.#slotUntil
    const mask = this.#mask
    const nullSlot = mask + 1
    let heapBuilt = false
    for (let i = 0; i < count; i++) {
      const key = keys[i]
      const slot = key === null || key === undefined ? nullSlot : hashKey(key) & mask
      let lane = slotLane[slot] as number
      if ((done[lane] as number) >= (slotUntil[slot] as number)) {
        if (!heapBuilt) {
          this.#buildHeap(done)
          heapBuilt = true
        }
        lane = this.#leastLoaded(done)
        slotLane[slot] = lane
      }
      const until = (assigned[lane] as number) + 1
      assigned[lane] = until
      slotUntil[slot] = until
      lanesOut[i] = lane
    }
    if (own) taken.set(assigned)
  }

  #buildHeap(done: Float64Array): void {
    const heap = this.#heap
    const heapLoad = this.#heapLoad
    const assigned = this.#assigned
    for (let lane = 0; lane < this.lanes; lane++) {
      heap[lane] = lane
      heapLoad[lane] = (assigned[lane] as number) - (done[lane] as number)
    }
    heapify(heap, heapLoad, this.lanes)
  }

  /**
   * The root of the heap once its load is current. Within a batch loads only grow (lanes
   * gain messages, none finish), so a root whose recorded load is current is the least
   * loaded lane: every other recorded load is at most that lane's real one.
   */
  #leastLoaded(done: Float64Array): number {
    const heap = this.#heap
    const heapLoad = this.#heapLoad
    const assigned = this.#assigned
    for (;;) {
      const lane = heap[0] as number
      const load = (assigned[lane] as number) - (done[lane] as number)
      if (load === heapLoad[lane]) return lane
      heapLoad[lane] = load
      siftDown(heap, heapLoad, this.lanes)
    }
  }
}
