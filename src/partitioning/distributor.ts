import type { Distribution, VirtualKey } from '../config/options.js'
import { MAX_LANES } from '../config/schema.js'
import { ConfigError, InternalError } from '../errors.js'
import { BalancedDistributor } from './balanced.js'
import { ConsistentDistributor } from './consistent.js'
import { StickyDistributor } from './sticky.js'

/**
 * A distributor decides *how* virtual keys map to the lanes of one Kafka partition; the
 * partitioner (./partitioner.ts) has already found each message's key.
 */
export interface Distributor {
  readonly lanes: number
  /**
   * True when a key may change lanes between batches: the dispatcher then waits for a
   * partition to be idle before starting its next batch, so per-key order still holds.
   */
  readonly needsBarrier: boolean
  /**
   * Fills lanesOut[i] with the lane of message i (keys[i] its virtual key, offsets[i] its
   * offset, both in fetch order). lanesOut.length >= keys.length. `progress` is how far
   * each lane has got; the caller then appends the batch to the lanes in that order.
   */
  distribute(keys: readonly VirtualKey[], offsets: readonly number[], lanesOut: Uint32Array, progress?: LaneProgress): void
}

/**
 * Per lane of one partition, since its assignment: messages appended (`taken`) and messages
 * done and gone from its head (`done`). A lane is a FIFO, so the message a lane took as its
 * n-th (1-based) is done exactly when `done >= n`; `taken - done` is its backlog.
 */
export interface LaneProgress {
  readonly taken: Float64Array
  readonly done: Float64Array
}

export { MAX_LANES }

export function createDistributor(kind: Distribution, lanes: number, field = 'virtualPartitions.distribution'): Distributor {
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_LANES) {
    throw new InternalError(`lanes must be an integer 1..${MAX_LANES}, got ${lanes}`)
  }
  switch (kind) {
    case 'consistent':
      return new ConsistentDistributor(lanes)
    case 'balanced':
      return new BalancedDistributor(lanes)
    case 'sticky':
      return new StickyDistributor(lanes)
    default:
      throw new ConfigError(field, `expected 'consistent', 'balanced' or 'sticky', got ${JSON.stringify(kind as unknown) ?? String(kind)}`)
  }
}
