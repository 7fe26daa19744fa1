import type Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import type { Dispatcher } from '../dispatch/dispatcher.js'
import type { KnownDone } from '../offsets/known-done.js'
import type { Assignments } from './assignments.js'
import type { Committer } from './committer.js'
import type { FaultReporter } from './fault-reporter.js'
import type { TransactionCycle } from './transaction-cycle.js'

/** How long a revoke retries commits that fail because the group is rebalancing. */
const REVOKE_GENERATION_RETRY_MS = 1000

/** What a handover uses; each part is owned elsewhere. */
export interface HandoverParts {
  readonly assignments: Assignments
  /** The group generation the partitions are assigned in (./rebalance.ts). */
  generation(): number
  readonly faults: Pick<FaultReporter, 'assigned' | 'joined'>
  readonly dispatcher: Pick<Dispatcher, 'drain'>
  readonly committer: Pick<Committer, 'commitSync'>
  /** Exactly-once: the transaction cycle; undefined for at-least-once. */
  readonly transactions: Pick<TransactionCycle, 'closing' | 'close'> | undefined
  /** The engine is stopping: a revoke lets go at once, its work already drained or closed by the stop. */
  stopping(): boolean
  /** The offsets previous owners recorded as done above the committed ones (./offset-map-reader.ts); undefined: none are read. */
  readonly knownDone?: (partitions: Kafka.Assignment[]) => Promise<ReadonlyMap<string, KnownDone>>
}

/**
 * What this member does as partitions come and go in a rebalance (./rebalance.ts calls it,
 * one event at a time). Assigned partitions get fresh states. Revoked ones hand their work
 * over: at-least-once, in-flight slices finish (up to `revokeTimeoutMs`), the states are
 * fenced so that a late ack is dropped, and their watermarks are committed; exactly-once,
 * the open transaction closes, committing their watermarks. Then they are dropped.
 */
export class Handover {
  readonly #parts: HandoverParts
  readonly #revokeTimeoutMs: number

  constructor(parts: HandoverParts, revokeTimeoutMs: number) {
    this.#parts = parts
    this.#revokeTimeoutMs = revokeTimeoutMs
  }

  /** Partitions are ours from now on; first, what their previous owners recorded as done is read. */
  async assigned(partitions: Kafka.Assignment[]): Promise<void> {
    const { assignments, faults, transactions } = this.#parts
    const generation = this.#parts.generation()
    const knownDone = this.#parts.knownDone ? await this.#parts.knownDone(partitions) : undefined
    for (const state of assignments.assigned(partitions, generation, knownDone)) {
      // A transaction is closing: none of this partition's records may join it.
      if (transactions?.closing) state.seal()
      faults.assigned(state.topic, state.partition)
    }
    faults.joined()
  }

  /** Partitions are going away: their work is finished or fenced, and committed. Resolves when they are gone. */
  async revoking(partitions: Kafka.Assignment[]): Promise<void> {
    const { assignments, dispatcher, committer, transactions } = this.#parts
    const states = assignments.owned(partitions)
    if (states.length === 0) return
    if (transactions) {
      // The open transaction closes (committing these partitions' watermarks) before they go;
      // it runs their sealed messages to the end.
      if (!this.#parts.stopping()) await transactions.close('revoke', { leaving: states })
      assignments.revoked(states)
      return
    }
    for (const state of states) state.startDraining()
    const deadline = Date.now() + this.#revokeTimeoutMs
    // Let in-flight slices finish so their work can be committed by this member.
    if (!this.#parts.stopping()) await dispatcher.drain(this.#revokeTimeoutMs, states)
    // Fence first: from here on, an ack for these partitions is stale and dropped.
    for (const state of states) state.revoke()
    try {
      await committer.commitSync(states, 'revoke', Math.max(deadline, Date.now() + 1000), { generationDeadline: Date.now() + REVOKE_GENERATION_RETRY_MS })
    } catch (error) {
      if (channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
    }
    assignments.revoked(states)
  }
}
