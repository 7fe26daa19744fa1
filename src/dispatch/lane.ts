import type { Message as KafkaMessage } from 'node-rdkafka'
import type { PartitionState } from './partition-state.js'

/**
 * One virtual partition of one Kafka partition: a FIFO of fetched messages with at most
 * one slice in flight. A dispatched slice stays at the head of the queue until its ack
 * says how far it got, so a failure leaves the failed message at the head for the retry.
 */
export class Lane {
  readonly index: number
  /** The partition (this assignment of it) the lane belongs to. */
  readonly owner: PartitionState
  /** Messages, oldest first, from `head` on. */
  messages: KafkaMessage[] = []
  /** The offset tracker's sequence number of each message. */
  seqs: number[] = []
  head = 0
  /** A slice of this lane is running. */
  busy = false
  /** Waiting out a retry backoff or a dead-letter delivery. */
  waiting = false
  /** Sits in the dispatcher's ready list. */
  listed = false
  /** Attempt number of the head message (1 = first try). */
  attempt = 1
  /** Manual offsets: handled messages not yet marked consumed (their tracker seqs). */
  unmarked: number[] = []
  /** Pending retry timer, cancelled on revoke or stop. */
  timer: NodeJS.Timeout | undefined

  constructor(index: number, owner: PartitionState) {
    this.index = index
    this.owner = owner
  }

  get size(): number {
    return this.messages.length - this.head
  }

  get ready(): boolean {
    return !this.busy && !this.waiting && this.messages.length > this.head
  }

  push(message: KafkaMessage, seq: number): void {
    this.messages.push(message)
    this.seqs.push(seq)
  }

  /** Drops `count` messages from the head (they are done or handed on). */
  advance(count: number): void {
    this.head += count
    if (this.head === this.messages.length) {
      this.messages.length = 0
      this.seqs.length = 0
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head)
      this.seqs = this.seqs.slice(this.head)
      this.head = 0
    }
  }

  cancelTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }
}
