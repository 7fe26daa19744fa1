import type { VirtualKey } from '../config/options.js'
import type { Distributor } from './distributor-types.js'
import { hashKey } from './hash.js'

/**
 * lane = hashKey(key) % lanes. A key always lands in the same lane, batch after batch,
 * so with at most one slice in flight per lane its messages stay in offset order and no
 * batch barrier is needed.
 *
 * Messages with a null or undefined key all go to lane 0, so null-keyed messages keep
 * their relative order (as a plain Kafka partition would).
 */
export class ConsistentDistributor implements Distributor {
  readonly lanes: number
  readonly needsBarrier = false

  constructor(lanes: number) {
    this.lanes = lanes
  }

  distribute(keys: readonly VirtualKey[], lanesOut: Uint32Array): void {
    const count = keys.length
    if (this.lanes === 1) {
      lanesOut.fill(0, 0, count)
      return
    }
    const lanes = this.lanes
    for (let i = 0; i < count; i++) {
      const key = keys[i]
      lanesOut[i] = key === null || key === undefined ? 0 : hashKey(key) % lanes
    }
  }
}
