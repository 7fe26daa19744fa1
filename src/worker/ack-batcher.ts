import { performance } from 'node:perf_hooks'
import type { WireSliceAck } from '../codec/slice-codec.js'

/** How long an ack may wait for others to travel with it. */
export const MAX_ACK_DELAY_MS = 2

/**
 * Gathers a worker session's slice acks into one message. Acks of slices that finish in
 * the same turn of the event loop travel together (sent on setImmediate). A turn can last
 * long: the slices of a task with a synchronous, CPU-bound handler all run in one chain of
 * microtasks, so a task of thousands of messages held every ack for seconds, and the main
 * thread saw nothing finish, freed no lane and moved no offset until the whole task was
 * done. Once the oldest waiting ack is `maxDelayMs` old, the next one sends them at once.
 */
export class AckBatcher {
  readonly #send: (acks: WireSliceAck[]) => void
  readonly #maxDelayMs: number
  readonly #now: () => number
  #pending: WireSliceAck[] = []
  #oldest = 0
  #scheduled = false

  constructor(send: (acks: WireSliceAck[]) => void, maxDelayMs = MAX_ACK_DELAY_MS, now: () => number = () => performance.now()) {
    this.#send = send
    this.#maxDelayMs = maxDelayMs
    this.#now = now
  }

  add(ack: WireSliceAck): void {
    if (this.#pending.length === 0) this.#oldest = this.#now()
    this.#pending.push(ack)
    if (this.#now() - this.#oldest >= this.#maxDelayMs) {
      this.flush()
      return
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        this.flush()
      })
    }
  }

  /** Sends what is waiting, if anything. */
  flush(): void {
    if (this.#pending.length === 0) return
    const acks = this.#pending
    this.#pending = []
    this.#send(acks)
  }
}
