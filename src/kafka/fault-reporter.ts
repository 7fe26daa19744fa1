import Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import { KvpError } from '../errors.js'
import { classifyClientError, describeFault, FaultKinds } from './client-fault.js'
import type { ClientFault, FaultOrigin } from './client-fault.js'
import { FaultWatch } from './fault-watch.js'
import type { ActiveFault } from './fault-watch.js'

/** What the engine does about a fault, beside reporting it. */
export interface FaultReactions {
  /** A batch of this partition at `offset` cannot be read (a codec the build lacks, a corrupt batch): the partition stops there. */
  unreadable(topic: string, partition: number, offset: number): void
  /** The broker refused the credentials, or TLS failed: a start still connecting fails with it. */
  refused(error: KvpError): void
  /** Only a change of build or settings can fix it (a codec the build lacks): the engine stops. */
  permanent(error: KvpError): void
}

export interface FaultReporterOptions {
  /** The consumer group, named in authorization faults. */
  groupId: string
  /** librdkafka's builtin.features, named in codec faults. */
  features?: readonly string[]
  now?: () => number
}

/**
 * Turns the Kafka clients' errors into faults and says when each is over. An error that
 * stops progress becomes a fault: kept in force (./fault-watch.ts), published on
 * `kvp:fault` (the logs say its cause and fix; /status shows it) and handed to the engine's
 * reactions. Any other error is published on `kvp:kafka-error`. Progress (a fetch, an
 * assignment, a delivery) ends the faults it proves wrong, each published on `kvp:fault-cleared`.
 */
export class FaultReporter {
  readonly #watch: FaultWatch
  readonly #groupId: string
  readonly #features: readonly string[]
  readonly #reactions: FaultReactions

  constructor(options: FaultReporterOptions, reactions: FaultReactions) {
    this.#watch = new FaultWatch(options.now)
    this.#groupId = options.groupId
    this.#features = options.features ?? Kafka.features
    this.#reactions = reactions
  }

  /**
   * A librdkafka error from the consumer's fetches (`consume`), its background threads
   * (`client`) or a producer's write (`produce`), about `topic` when the client says.
   * `faultsOnly`: a log line, reported only when it is a fault.
   */
  clientError(error: unknown, origin: FaultOrigin, topic?: string, faultsOnly = false): void {
    const fault = classifyClientError(error, { origin, groupId: this.#groupId, features: this.#features, ...(topic === undefined ? {} : { topic }) })
    if (fault === undefined) {
      if (!faultsOnly && channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
      return
    }
    if (isUnreadableBatch(fault)) this.#reactions.unreadable(fault.topic, fault.partition, fault.offset)
    const kvpError = new KvpError(fault.code, describeFault(fault), { cause: error, retryable: false })
    const reported = this.#watch.report(fault)
    if (reported && channels.fault.hasSubscribers) channels.fault.publish({ fault: reported.fault, error: kvpError, repeat: reported.repeat })
    if (fault.kind === FaultKinds.AUTHENTICATION || fault.kind === FaultKinds.TLS) this.#reactions.refused(kvpError)
    if (fault.permanent) this.#reactions.permanent(kvpError)
  }

  /** Messages of `topic` were fetched: its faults are over, and so are the consumer's own (it reaches the brokers). */
  fetched(topic: string): void {
    if (this.#watch.size > 0) this.#cleared([...this.#watch.topicProgressed(topic), ...this.#watch.clientProgressed()])
  }

  /** A partition was assigned afresh: its stop at a corrupt batch is retried, and its topic's faults are over. */
  assigned(topic: string, partition: number): void {
    if (this.#watch.size > 0) this.#cleared([...this.#watch.partitionReassigned(topic, partition), ...this.#watch.topicProgressed(topic)])
  }

  /** The group was joined: credentials, TLS and the group's ACL work. */
  joined(): void {
    if (this.#watch.size > 0) this.#cleared(this.#watch.clientProgressed())
  }

  /** A producer's record was delivered to `topic`: its writes work. */
  delivered(topic: string): void {
    if (this.#watch.size > 0) this.#cleared(this.#watch.producerDelivered(topic))
  }

  /** The faults in force, oldest first. */
  active(): ActiveFault[] {
    return this.#watch.active()
  }

  #cleared(cleared: ActiveFault[]): void {
    if (cleared.length === 0 || !channels.faultCleared.hasSubscribers) return
    for (const fault of cleared) channels.faultCleared.publish({ fault })
  }
}

function isUnreadableBatch(fault: ClientFault): fault is ClientFault & { topic: string; partition: number; offset: number } {
  return (fault.kind === FaultKinds.CODEC || fault.kind === FaultKinds.CORRUPT_BATCH) && fault.topic !== undefined && fault.partition !== undefined && fault.offset !== undefined
}
