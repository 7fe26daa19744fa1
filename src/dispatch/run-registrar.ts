import type { Message as KafkaMessage } from 'node-rdkafka'
import type { KnownDone } from '../offsets/known-done.js'
import type { OffsetTracker } from '../offsets/offset-tracker.js'

/** What the registrar needs of the partition's offset tracker. */
export type RegisteringTracker = Pick<OffsetTracker, 'register' | 'ack' | 'lastRegistered'>

/** A fetched batch after registering. */
export interface RegisteredRun {
  /** Messages of the batch this assignment had not registered before. */
  fetched: number
  /** The offset of the first of them; undefined when there were none. */
  firstOffset: number | undefined
  /** Those of them to hand to lanes (not known done), and their tracker seqs. */
  messages: KafkaMessage[]
  seqs: number[]
  /** Payload bytes (values) of `messages`. */
  bytes: number
}

/**
 * Registers a partition's fetched batches with its offset tracker (lent by the partition
 * state on each call, which keeps it private). Offsets this assignment registered already
 * are dropped, and those the previous owner recorded as done are registered, acked at once
 * and never reach a handler. Once every recorded offset has been fetched again, runs are
 * registered whole.
 */
export class RunRegistrar {
  /** Offsets recorded as done by the previous owner, until they have all been fetched again. */
  #knownDone: KnownDone | undefined
  #skipped = 0
  #redelivered = 0

  /**
   * @param knownDone offsets the previous owner recorded as done above the committed offset
   * (its offset map), or undefined when there are none.
   */
  constructor(knownDone?: KnownDone) {
    this.#knownDone = knownDone
  }

  /** Messages fetched again that the previous owner had recorded as done, so never handed to a handler. */
  get skipped(): number {
    return this.#skipped
  }

  /** Offsets librdkafka delivered again, dropped (see #unseen). */
  get redelivered(): number {
    return this.#redelivered
  }

  /** Registers the messages of `batch` (offset order) that `tracker` has not registered yet. */
  register(tracker: RegisteringTracker, batch: KafkaMessage[]): RegisteredRun {
    const unseen = this.#unseen(batch, tracker.lastRegistered)
    if (unseen.length === 0) return { fetched: 0, firstOffset: undefined, messages: unseen, seqs: [], bytes: 0 }
    return this.#knownDone === undefined ? registerAll(tracker, unseen) : this.#registerSkippingDone(tracker, unseen, this.#knownDone)
  }

  /**
   * The messages of a batch that this assignment has not registered yet. librdkafka
   * delivers an offset again when a pause purged its prefetch while a consume call was
   * returning messages from it: on resume it fetches from the application's position,
   * which that call had not yet moved. Each offset is handled once per assignment.
   */
  #unseen(batch: KafkaMessage[], lastRegistered: number | undefined): KafkaMessage[] {
    let max = lastRegistered ?? -1
    let i = 0
    for (; i < batch.length; i++) {
      const offset = (batch[i] as KafkaMessage).offset
      if (offset <= max) break
      max = offset
    }
    if (i === batch.length) return batch
    // A repeat (one batch may even hold messages from both sides of the purge).
    const unseen = batch.slice(0, i)
    for (; i < batch.length; i++) {
      const message = batch[i] as KafkaMessage
      if (message.offset > max) {
        unseen.push(message)
        max = message.offset
      } else {
        this.#redelivered++
      }
    }
    return unseen
  }

  /** Registers every message (at least one); those the previous owner recorded as done are acked at once and left out. */
  #registerSkippingDone(tracker: RegisteringTracker, all: KafkaMessage[], known: KnownDone): RegisteredRun {
    const messages: KafkaMessage[] = []
    const seqs: number[] = []
    let bytes = 0
    for (const message of all) {
      const seq = tracker.register(message.offset)
      if (known.has(message.offset)) {
        tracker.ack(seq)
        this.#skipped++
      } else {
        messages.push(message)
        seqs.push(seq)
        bytes += message.value?.length ?? 0
      }
    }
    const last = (all[all.length - 1] as KafkaMessage).offset
    if (known.exhausted || last + 1 >= known.coveredUntil) this.#knownDone = undefined
    return { fetched: all.length, firstOffset: (all[0] as KafkaMessage).offset, messages, seqs, bytes }
  }
}

/** Registers every message (at least one). */
function registerAll(tracker: RegisteringTracker, messages: KafkaMessage[]): RegisteredRun {
  const seqs = new Array<number>(messages.length)
  let bytes = 0
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as KafkaMessage
    seqs[i] = tracker.register(message.offset)
    bytes += message.value?.length ?? 0
  }
  return { fetched: messages.length, firstOffset: (messages[0] as KafkaMessage).offset, messages, seqs, bytes }
}
