import type { VirtualKey } from '../config/options.js'

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
   * Fills lanesOut[i] with the lane of message i (keys[i] its virtual key, in fetch order).
   * lanesOut.length >= keys.length. `progress` is how far each lane has got; the caller
   * then appends the batch to the lanes in that order.
   */
  distribute(keys: readonly VirtualKey[], lanesOut: Uint32Array, progress?: LaneProgress): void
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
