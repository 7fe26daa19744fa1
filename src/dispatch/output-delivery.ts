import { carriesRecords, decodeOutputRecords } from '../codec/output-records.js'
import type { DecodedOutput } from '../codec/output-records.js'
import type { WireSliceAck } from '../codec/slice-codec.js'
import { ErrorCodes, KvpError, describeError } from '../errors.js'
import type { PartitionLane, PartitionState } from './partition-state.js'

/** What output delivery needs from the Kafka side; without `produce`, acks apply at once. */
export interface OutputHooks {
  /**
   * Sends what a slice's handlers produced (`counts[i]` records of its message `i`); `done`
   * gets the first message with an undelivered record and the error, or undefined when all
   * are delivered.
   */
  produce?(records: DecodedOutput[], counts: readonly number[], done: (failedAt: number | undefined, error: KvpError | undefined, sent: boolean) => void): void
  /** Exactly-once: a record produced for the message at `offset` was not delivered, so the open transaction cannot commit. */
  outputFailed?(state: PartitionState, offset: number, error: KvpError): void
  /**
   * Exactly-once: attempts the message at `offset` spent in aborted transactions once they
   * reach its route's limit (its records go nowhere; it is dead-lettered), else undefined.
   */
  undeliverable?(state: PartitionState, offset: number): number | undefined
}

/** A slice whose ack came back: its messages are still the first `count` of its lane. */
export interface DeliverySlice {
  readonly lane: PartitionLane
  readonly state: PartitionState
  readonly count: number
}

/**
 * Holds back the ack of a slice whose handlers produced records (`ctx.produce()`) until
 * every record's delivery report is in, then hands it on (`settled`) cut short at the
 * first message whose records did not all land, which fails with KVP_PRODUCE and is
 * retried. The worker is free meanwhile; the lane keeps its slice in flight.
 *
 * Exactly-once: a record that reached the producer and then failed dooms the open
 * transaction (`outputFailed`), and a message whose records failed in as many aborted
 * transactions as its route allows attempts sends none of them: it goes to the
 * dead-letter topic instead.
 */
export class OutputDelivery<S extends DeliverySlice = DeliverySlice> {
  readonly #hooks: OutputHooks
  readonly #settled: (slice: S, ack: WireSliceAck) => void
  /** Slices whose records are being delivered. */
  #awaiting = 0

  /** `settled` gets each held slice's ack once its records are delivered, or not. */
  constructor(hooks: OutputHooks, settled: (slice: S, ack: WireSliceAck) => void) {
    this.#hooks = hooks
    this.#settled = settled
  }

  /** Slices whose records are being delivered. */
  get awaiting(): number {
    return this.#awaiting
  }

  /**
   * Sends the records of `slice`'s `ack` and holds the ack until their delivery reports
   * are in. Returns false, holding nothing, when there is nothing to send (no records, no
   * producer, or the partition was revoked): the caller applies the ack now.
   */
  deliver(slice: S, ack: WireSliceAck): boolean {
    const outputs = ack.outputs
    if (!carriesRecords(outputs) || this.#hooks.produce === undefined || slice.state.revoked) return false
    this.#awaiting++
    let records: DecodedOutput[]
    try {
      records = decodeOutputRecords(outputs)
    } catch (error) {
      this.#delivered(slice, ack, 0, new KvpError(ErrorCodes.PRODUCE, `the slice's output records could not be read: ${describeError(error).message}`), false)
      return true
    }
    let counts = ack.outputCounts ?? []
    const spent = this.#spentAt(slice, ack.handled)
    if (spent !== undefined) {
      // Records of messages before the spent one go out; the spent message goes to its dead-letter topic.
      let kept = 0
      for (let m = 0; m < spent.index; m++) kept += counts[m] ?? 0
      records = records.slice(0, kept)
      counts = counts.slice(0, spent.index)
      slice.lane.attemptsSpent(spent.attempts)
      const error = new KvpError(ErrorCodes.PRODUCE, `the records of offset ${spent.offset} could not be delivered in ${spent.attempts} transactions; it goes to the dead-letter topic`)
      this.#hooks.produce(records, counts, (failedAt, deliveryError, sent) =>
        failedAt === undefined ? this.#delivered(slice, ack, spent.index, error, false) : this.#delivered(slice, ack, failedAt, deliveryError, sent),
      )
      return true
    }
    this.#hooks.produce(records, counts, (failedAt, error, sent) => this.#delivered(slice, ack, failedAt, error, sent))
    return true
  }

  /** Exactly-once: the first message of the slice whose records failed delivery in as many aborted transactions as its route allows attempts. */
  #spentAt(slice: S, handled: number): { index: number; offset: number; attempts: number } | undefined {
    const undeliverable = this.#hooks.undeliverable
    if (undeliverable === undefined) return undefined
    const { lane, state } = slice
    for (let i = 0; i < Math.min(handled, slice.count); i++) {
      const offset = state.offsetOf(lane.seqAt(i))
      if (offset === undefined) continue
      const attempts = undeliverable(state, offset)
      if (attempts !== undefined) return { index: i, offset, attempts }
    }
    return undefined
  }

  /**
   * The delivery reports of a slice's records are in: the ack is settled, cut short at the
   * first message whose records did not all land. `sent`: some record of that message
   * reached the producer (exactly-once: it is in the open transaction, which must abort).
   */
  #delivered(slice: S, ack: WireSliceAck, failedAt: number | undefined, error: KvpError | undefined, sent: boolean): void {
    this.#awaiting--
    if (failedAt !== undefined && failedAt <= ack.handled) {
      const handled = Math.min(ack.handled, failedAt)
      if (this.#hooks.outputFailed !== undefined && error !== undefined && sent && !slice.state.revoked) {
        const offset = slice.state.offsetOf(slice.lane.seqAt(handled))
        if (offset !== undefined) this.#hooks.outputFailed(slice.state, offset, error)
      }
      ack = {
        id: ack.id,
        handled,
        marked: Math.min(ack.marked, handled),
        failed: true,
        errorMessage: error?.message ?? 'a produced record was not delivered',
        errorCode: ErrorCodes.PRODUCE,
        errorStack: error?.stack ?? '',
        durationMs: ack.durationMs,
      }
    }
    this.#settled(slice, ack)
  }
}
