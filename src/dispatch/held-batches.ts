import type { Message as KafkaMessage } from 'node-rdkafka'
import type { VirtualKey } from '../config/options.js'

/** A fetched batch of one partition that must wait until the partition's lanes are empty. */
export interface HeldBatch {
  messages: KafkaMessage[]
  seqs: number[]
  /** Virtual keys, or undefined when the partitioner failed: the batch runs as one lane. */
  keys: VirtualKey[] | undefined
}

/**
 * The batches of one partition held behind a barrier, in fetch order, until its lanes are
 * empty. Owned by the partition state, which decides when a batch is held and when the
 * lanes are empty enough to take the next one.
 */
export class HeldBatches {
  readonly #batches: HeldBatch[] = []
  #messages = 0
  readonly #merge: boolean

  /** @param merge keyed batches taken together are merged into one (balanced: spread together). */
  constructor(merge: boolean) {
    this.#merge = merge
  }

  /** Messages held. */
  get messages(): number {
    return this.#messages
  }

  get empty(): boolean {
    return this.#batches.length === 0
  }

  /** The first message held, or undefined. */
  head(): KafkaMessage | undefined {
    return this.#batches[0]?.messages[0]
  }

  /** `batch` waits behind the ones already held. */
  hold(batch: HeldBatch): void {
    this.#batches.push(batch)
    this.#messages += batch.messages.length
  }

  /**
   * Takes the first held batch, or undefined when none is. A batch whose partitioner failed
   * comes alone; when merging, a keyed batch takes with it the keyed batches right after it.
   */
  take(): HeldBatch | undefined {
    const first = this.#batches.shift()
    if (first === undefined) return undefined
    this.#messages -= first.messages.length
    if (first.keys === undefined || !this.#merge) return first
    while (this.#batches.length > 0 && (this.#batches[0] as HeldBatch).keys !== undefined) {
      const next = this.#batches.shift() as HeldBatch
      this.#messages -= next.messages.length
      first.messages = first.messages.concat(next.messages)
      first.seqs = first.seqs.concat(next.seqs)
      first.keys = first.keys.concat(next.keys as VirtualKey[])
    }
    return first
  }

  /** The assignment is over: nothing held will run. */
  clear(): void {
    this.#batches.length = 0
    this.#messages = 0
  }
}
