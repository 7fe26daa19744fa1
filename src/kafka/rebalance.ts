import Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'

const ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS
const REVOKE = Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS

export interface RebalanceListener {
  /** Partitions are about to be ours: create their state (a new generation). They are assigned to the consumer once this resolves. */
  assigned(partitions: Kafka.Assignment[]): void | Promise<void>
  /** Partitions are going away: finish or fence their work and commit. Resolves when done. */
  revoking(partitions: Kafka.Assignment[]): Promise<void>
  /** A revoke or assign call failed. */
  failed(error: unknown): void
}

/**
 * librdkafka's rebalance callback, for both eager (range, roundrobin) and cooperative
 * (cooperative-sticky, and every assignment under `group.protocol=consumer`: incremental)
 * protocols. librdkafka waits for the assign/unassign call, so a revoke may take its time
 * to drain in-flight slices and commit before letting go. Events are handled strictly one
 * after another.
 */
export class RebalanceHandler {
  #consumer: Kafka.KafkaConsumer | undefined
  readonly #listener: RebalanceListener
  #chain: Promise<void> = Promise.resolve()
  #cooperative = false
  generation = 0

  constructor(listener: RebalanceListener) {
    this.#listener = listener
  }

  attach(consumer: Kafka.KafkaConsumer): void {
    this.#consumer = consumer
  }

  /** Resolves when every rebalance event so far has been handled. */
  settled(): Promise<void> {
    return this.#chain
  }

  /**
   * Leaves the group ahead of closing the consumer: unsubscribes, then runs `serve` (one
   * consume call: librdkafka calls the rebalance callback only from inside one) until the
   * revoke that unsubscribing brings has been handled here, nothing is assigned and every
   * event is settled, for at most `timeoutMs`. Closing a consumer that still owns
   * partitions raises that revoke from inside node-rdkafka's close instead, which runs on
   * another thread and frees the client when it returns, so the unassign this handler
   * answers with could run on a client being freed: a crash (SIGSEGV) seen, rarely, when a
   * member stopped mid-rebalance.
   */
  async leave(timeoutMs: number, serve: () => Promise<void>): Promise<void> {
    const consumer = this.#consumer
    if (!consumer?.isConnected()) return
    try {
      consumer.unsubscribe()
    } catch (error) {
      this.#listener.failed(error)
      return
    }
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (!(await this.#settledBy(deadline))) return
      let assigned: number
      try {
        assigned = consumer.assignments().length
      } catch {
        return
      }
      if (assigned === 0) {
        await this.#settledBy(deadline)
        return
      }
      if (Date.now() >= deadline) return
      await serve()
    }
  }

  /** Whether every event so far was handled by `deadline` (a slow revoke may still be draining). */
  async #settledBy(deadline: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))
    })
    try {
      return await Promise.race([this.#chain.then(() => true), late])
    } finally {
      clearTimeout(timer)
    }
  }

  readonly callback = (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void => {
    const code = err?.code
    this.#chain = this.#chain.then(() => this.#handle(code, assignment)).catch((error: unknown) => this.#listener.failed(error))
  }

  async #handle(code: number | undefined, assignment: Kafka.Assignment[]): Promise<void> {
    const consumer = this.#consumer
    if (!consumer) return
    const cooperative = this.#protocolIsCooperative(consumer)
    if (code === ASSIGN) {
      this.generation++
      await this.#listener.assigned(assignment)
      if (channels.rebalance.hasSubscribers) channels.rebalance.publish({ kind: 'assign', partitions: assignment, generation: this.generation, cooperative })
      if (cooperative) consumer.incrementalAssign(assignment)
      else consumer.assign(assignment)
    } else if (code === REVOKE) {
      if (channels.rebalance.hasSubscribers) channels.rebalance.publish({ kind: 'revoke', partitions: assignment, generation: this.generation, cooperative })
      try {
        await this.#listener.revoking(assignment)
      } finally {
        if (consumer.isConnected()) {
          if (cooperative) consumer.incrementalUnassign(assignment)
          else consumer.unassign()
        }
      }
    } else {
      // Any other error: librdkafka asks us to drop the assignment and start over.
      await this.#listener.revoking(consumer.assignments())
      if (consumer.isConnected()) consumer.unassign()
    }
  }

  /**
   * node-rdkafka answers 'NONE' once the consumer is disconnecting, so the revoke that
   * closing the consumer brings would read as eager under either incremental protocol:
   * the last protocol reported while connected is the group's.
   */
  #protocolIsCooperative(consumer: Kafka.KafkaConsumer): boolean {
    const protocol = consumer.rebalanceProtocol()
    if (protocol !== 'NONE') this.#cooperative = protocol === 'COOPERATIVE'
    return this.#cooperative
  }
}
