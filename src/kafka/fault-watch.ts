import { type ClientFault, FaultKinds } from './client-fault.js'

/** A fault that is still in force: when it was first and last seen, and how often. */
export interface ActiveFault extends ClientFault {
  /** Epoch milliseconds. */
  since: number
  lastSeen: number
  count: number
}

/** A fault seen again is published again (logged again) at most this often. */
export const FAULT_REPEAT_MS = 60_000

/**
 * The faults in force, one per kind and place (topic, partition), with what ends each:
 * progress on its topic (a fetched batch, an assignment) ends a topic's faults, a joined
 * group ends the client's (credentials, TLS, the group's ACL), and a partition's corrupt
 * batch lasts until the partition is assigned afresh. Pure: the caller says when things
 * happen, and publishes what `report` and the clear methods return.
 */
export class FaultWatch {
  readonly #active = new Map<string, ActiveFault>()
  readonly #published = new Map<string, number>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  get size(): number {
    return this.#active.size
  }

  /** Records `fault`; returns it when it should be published (new, or not published for FAULT_REPEAT_MS). */
  report(fault: ClientFault): { fault: ActiveFault; repeat: boolean } | undefined {
    const key = keyOf(fault)
    const now = this.#now()
    const previous = this.#active.get(key)
    const active: ActiveFault = previous ? { ...fault, since: previous.since, lastSeen: now, count: previous.count + 1 } : { ...fault, since: now, lastSeen: now, count: 1 }
    this.#active.set(key, active)
    const last = this.#published.get(key)
    if (last !== undefined && now - last < FAULT_REPEAT_MS) return undefined
    this.#published.set(key, now)
    return { fault: active, repeat: previous !== undefined }
  }

  /** Messages of `topic` arrived, or its partitions were assigned: its faults are over (a corrupt batch's stays). */
  topicProgressed(topic: string): ActiveFault[] {
    return this.#clear((fault) => fault.topic === topic && fault.kind !== FaultKinds.CORRUPT_BATCH && fault.kind !== FaultKinds.CODEC)
  }

  /** The group was joined (partitions assigned): the consumer's credentials, TLS and the group's ACL work. */
  clientProgressed(): ActiveFault[] {
    return this.#clear((fault) => fault.topic === undefined && fault.origin !== 'produce' && fault.kind !== FaultKinds.CODEC)
  }

  /** A producer's record was delivered: its writes work (to `topic` at least). */
  producerDelivered(topic: string): ActiveFault[] {
    return this.#clear((fault) => fault.origin === 'produce' && (fault.topic === undefined || fault.topic === topic))
  }

  /** A partition was assigned afresh: its stop at a corrupt batch is retried from the committed offset. */
  partitionReassigned(topic: string, partition: number): ActiveFault[] {
    return this.#clear((fault) => fault.topic === topic && fault.partition === partition && fault.kind === FaultKinds.CORRUPT_BATCH)
  }

  /** The faults in force, oldest first. */
  active(): ActiveFault[] {
    return [...this.#active.values()].sort((a, b) => a.since - b.since)
  }

  #clear(matches: (fault: ActiveFault) => boolean): ActiveFault[] {
    const cleared: ActiveFault[] = []
    for (const [key, fault] of this.#active) {
      if (!matches(fault)) continue
      this.#active.delete(key)
      this.#published.delete(key)
      cleared.push(fault)
    }
    return cleared
  }
}

function keyOf(fault: ClientFault): string {
  return `${fault.kind}|${fault.topic ?? ''}|${fault.partition ?? ''}`
}
