import type { Message as KafkaMessage } from 'node-rdkafka'
import type { KnownDone } from '../offsets/known-done.js'
import type { OffsetTracker } from '../offsets/offset-tracker.js'

/** A fetched run after registering: the messages to hand to lanes, their tracker seqs and payload bytes. */
export interface RegisteredRun {
  messages: KafkaMessage[]
  seqs: number[]
  /** Payload bytes (values) of `messages`. */
  bytes: number
}

/**
 * Registers a partition's fetched runs with its offset tracker (lent by the partition state,
 * which keeps it private), leaving out the offsets the previous owner recorded as done: those
 * are acked at once and never reach a handler. Once every recorded offset has been fetched
 * again, runs are registered whole.
 */
export class RunRegistrar {
  /** Offsets recorded as done by the previous owner, until they have all been fetched again. */
  #knownDone: KnownDone | undefined
  #skipped = 0

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

  /** Registers every message of `run` (offset order, none registered before) with `tracker`. */
  register(tracker: Pick<OffsetTracker, 'register' | 'ack'>, run: KafkaMessage[]): RegisteredRun {
    return this.#knownDone === undefined ? registerAll(tracker, run) : this.#registerSkippingDone(tracker, run, this.#knownDone)
  }

  /** Registers every message; those the previous owner recorded as done are acked at once and left out. */
  #registerSkippingDone(tracker: Pick<OffsetTracker, 'register' | 'ack'>, all: KafkaMessage[], known: KnownDone): RegisteredRun {
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
    return { messages, seqs, bytes }
  }
}

function registerAll(tracker: Pick<OffsetTracker, 'register'>, messages: KafkaMessage[]): RegisteredRun {
  const seqs = new Array<number>(messages.length)
  let bytes = 0
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as KafkaMessage
    seqs[i] = tracker.register(message.offset)
    bytes += message.value?.length ?? 0
  }
  return { messages, seqs, bytes }
}
