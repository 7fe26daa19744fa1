import Kafka from 'node-rdkafka'
import type { DecodedOutput } from '../codec/output-records.js'
import type { KafkaSettings } from '../config/options.js'
import { ProduceError, TransactionError } from '../errors.js'
import { bufferHeaders, closeProducer, connectProducer, produceError, produceWaitingForRoom } from './producer-client.js'
import { fromCallback, type RdkafkaCallback } from './rdkafka-callback.js'

/** How a transaction call failed, from librdkafka's error flags. */
export type TransactionFailure = 'abortable' | 'fatal' | 'retriable'

export function transactionFailure(error: unknown): TransactionFailure {
  const flags = error as { isFatal?: boolean; isRetriable?: boolean; isTxnRequiresAbort?: boolean; cause?: unknown }
  if (flags?.isFatal) return 'fatal'
  if (flags?.isTxnRequiresAbort) return 'abortable'
  if (flags?.isRetriable) return 'retriable'
  return flags?.cause !== undefined && flags.cause !== error ? transactionFailure(flags.cause) : 'abortable'
}

/** A transaction call: its error is a TransactionError with librdkafka's flags (see transactionFailure). */
function call(what: string, f: (cb: RdkafkaCallback<void>) => void): Promise<void> {
  return fromCallback(f, (err) =>
    Object.assign(new TransactionError(`${what} failed: ${err.message}`, { cause: err }), {
      isFatal: err.isFatal,
      isRetriable: err.isRetriable,
      isTxnRequiresAbort: err.isTxnRequiresAbort,
    }),
  )
}

/** What the engine hears of its producer: client errors and failed deliveries, and deliveries. */
export interface ProducerEvents {
  error?: (error: unknown, topic?: string) => void
  delivered?: (topic: string) => void
  /** librdkafka's error-level log lines of the producer. */
  log?: (message: string) => void
}

/** One batch of a slice's records: `done` runs once, after the last delivery report. */
interface Batch {
  left: number
  /** Source message (index in the slice) of each record. */
  sources: number[]
  failedAt: number
  error: ProduceError | undefined
  /** A record of the failed message reached the producer before failing (or some record failed delivery). */
  sent: boolean
  done: (failedAt: number | undefined, error: ProduceError | undefined, sent: boolean) => void
}

interface Pending {
  batch?: Batch
  index?: number
  resolve?: () => void
  reject?: (error: Error) => void
}

/**
 * The engine's one producer (idempotent): sends what handlers produced with `ctx.produce()`
 * and the dead letters. Connected on first use. With a transactional id (exactly-once)
 * every record goes inside the open transaction, begun on the first record after a
 * commit or abort; `commitTransaction` sends the consumed offsets with it.
 */
export class OutputProducer {
  readonly #bootstrapServers: string
  readonly #settings: KafkaSettings
  readonly #transactionalId: string | undefined
  #client: Promise<Kafka.Producer> | undefined
  #closed = false
  /** The open transaction's begin, once asked for; undefined between transactions. */
  #transaction: Promise<void> | undefined
  /**
   * Closed while a transaction ends (from its commit until it committed, or was aborted or
   * replaced after failing): records wait at it, then begin the next transaction.
   */
  #gate: { opened: Promise<void>; open: () => void } | undefined
  /** Counts aborts (and replaced producers): records handed over before one belong to a transaction that is gone. */
  #aborts = 0

  readonly #events: ProducerEvents
  readonly #connectProducer: typeof connectProducer

  /**
   * @param events hears every delivery report of the producer (an error with the topic a
   *   failed record was for) and its client errors: the engine tells the faults (an ACL, a
   *   missing topic) from transient errors, and ends them once a record is delivered.
   * @param connect makes and connects the client (unit tests pass a fake).
   */
  constructor(bootstrapServers: string, settings: KafkaSettings, transactionalId?: string, events: ProducerEvents = {}, connect: typeof connectProducer = connectProducer) {
    this.#bootstrapServers = bootstrapServers
    this.#settings = settings
    this.#transactionalId = transactionalId
    this.#events = events
    this.#connectProducer = connect
  }

  /** Exactly-once: a transaction was begun and is not yet committed or aborted. */
  get transactionOpen(): boolean {
    return this.#transaction !== undefined
  }

  /** Connects now (exactly-once: and registers the transactional id, fencing an older producer with it). */
  async connect(): Promise<void> {
    await this.#connect()
  }

  #connect(): Promise<Kafka.Producer> {
    if (this.#client === undefined) {
      const transactional: KafkaSettings = this.#transactionalId === undefined ? {} : { 'transactional.id': this.#transactionalId }
      // Over the defaults every kvp producer has (./producer-client.ts).
      const client = this.#connectProducer(this.#bootstrapServers, {
        // A topic the cluster says does not exist fails its records after 5 s (librdkafka waits 30 s).
        'topic.metadata.propagation.max.ms': 5000,
        ...(this.#transactionalId === undefined ? {} : { 'transaction.timeout.ms': 10_000 }),
        ...this.#settings,
        'enable.idempotence': true,
        ...transactional,
      }).then(async (producer) => {
        producer.on('delivery-report', (err, report) => this.#delivered(err, report))
        producer.on('event.error', (err) => this.#events.error?.(err))
        // A transaction that fails says why (an ACL, a missing topic) only in librdkafka's error log lines.
        producer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
          if (log.severity <= 3) this.#events.log?.(log.message)
        })
        if (this.#transactionalId !== undefined) {
          try {
            await call('initTransactions', (cb) => producer.initTransactions(30_000, cb))
          } catch (error) {
            await closeProducer(producer).catch(() => {})
            throw error
          }
        }
        return producer
      })
      this.#client = client
      client.catch(() => {
        if (this.#client === client) this.#client = undefined
      })
    }
    return this.#client
  }

  #delivered(err: Kafka.LibrdKafkaError | undefined, report: Kafka.DeliveryReport): void {
    const pending = report?.opaque as Pending | undefined
    if (pending === undefined) return
    if (err) this.#events.error?.(err, report?.topic)
    else if (report !== undefined) this.#events.delivered?.(report.topic)
    const error = err ? new ProduceError(`a record to topic '${report.topic}' was not delivered: ${err.message}`, { cause: err }) : undefined
    if (pending.batch !== undefined) {
      if (error) pending.batch.sent = true
      this.#recordDone(pending.batch, pending.index as number, error)
    } else if (error) pending.reject?.(error)
    else pending.resolve?.()
  }

  #recordDone(batch: Batch, index: number, error: ProduceError | undefined): void {
    if (error !== undefined) {
      const source = batch.sources[index] as number
      if (source < batch.failedAt) {
        batch.failedAt = source
        batch.error = error
      }
    }
    if (--batch.left === 0) batch.done(batch.error === undefined ? undefined : batch.failedAt, batch.error, batch.sent)
  }

  /**
   * Sends a slice's records (`counts[i]` of them produced by its message `i`). `done` gets
   * the first message with a record that failed (and the error), or undefined once all are
   * delivered.
   */
  send(records: DecodedOutput[], counts: readonly number[], done: Batch['done']): void {
    const sources: number[] = []
    for (let m = 0; m < counts.length; m++) for (let c = 0; c < (counts[m] as number); c++) sources.push(m)
    const batch: Batch = { left: records.length, sources, failedAt: Number.POSITIVE_INFINITY, error: undefined, sent: false, done }
    if (records.length === 0) {
      done(undefined, undefined, false)
      return
    }
    void this.#send(batch, records, this.#aborts)
  }

  async #send(batch: Batch, records: DecodedOutput[], aborts: number): Promise<void> {
    let client: Kafka.Producer
    try {
      client = await this.#ready()
    } catch (error) {
      const wrapped = new ProduceError(`could not connect the producer: ${(error as Error).message}`, { cause: error })
      for (let i = 0; i < records.length; i++) this.#recordDone(batch, i, wrapped)
      return
    }
    if (aborts !== this.#aborts) {
      // Exactly-once: the transaction these records were meant for aborted while they waited;
      // their messages run again, so sending them into the next one would write them twice.
      const error = new ProduceError('the transaction aborted before these records were sent')
      for (let i = 0; i < records.length; i++) this.#recordDone(batch, i, error)
      return
    }
    const open = (): boolean => !this.#closed
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as DecodedOutput
      try {
        const waiting = produceWaitingForRoom(client, () => client.produce(record.topic, record.partition, record.value, record.key, null, { batch, index: i } satisfies Pending, record.headers), open)
        if (waiting !== undefined) await waiting
      } catch (err) {
        const message = (err as { message?: string }).message ?? String(err)
        this.#dropIfFatal(err)
        const error = new ProduceError(`producing a record to topic '${record.topic}' failed: ${message}`, { cause: err })
        // The rest is not sent: the messages from this one on run again, so they would be duplicates.
        if (i > 0 && batch.sources[i - 1] === batch.sources[i]) batch.sent = true
        for (let j = i; j < records.length; j++) this.#recordDone(batch, j, error)
        return
      }
    }
  }

  /** Sends one message and resolves on its delivery report (dead letters). */
  async produce(topic: string, value: Buffer | null, key: Kafka.MessageKey | undefined, headers: Kafka.MessageHeader[] | undefined): Promise<void> {
    const aborts = this.#aborts
    const client = await this.#ready()
    if (aborts !== this.#aborts) throw new ProduceError(`the transaction aborted before the record to ${topic} was sent`)
    let pending!: Pending
    const delivered = new Promise<void>((resolve, reject) => {
      pending = { resolve, reject }
    })
    const sendHeaders = headers && bufferHeaders(headers)
    try {
      await produceWaitingForRoom(client, () => client.produce(topic, null, value, key, null, pending, sendHeaders))
    } catch (err) {
      this.#dropIfFatal(err)
      throw produceError(err, topic)
    }
    return delivered
  }

  /** The connected producer; exactly-once: once no transaction is ending, with the open transaction begun. */
  async #ready(): Promise<Kafka.Producer> {
    if (this.#transactionalId === undefined) return this.#connect()
    while (this.#gate !== undefined) await this.#gate.opened
    const client = await this.#connect()
    if (this.#gate !== undefined) return this.#ready()
    this.#transaction ??= call('beginTransaction', (cb) => client.beginTransaction(cb))
    await this.#transaction
    return client
  }

  #closeGate(): void {
    if (this.#gate !== undefined) return
    let open!: () => void
    const opened = new Promise<void>((resolve) => {
      open = resolve
    })
    this.#gate = { opened, open }
  }

  #openGate(): void {
    const gate = this.#gate
    this.#gate = undefined
    gate?.open()
  }

  /**
   * Exactly-once: commits the open transaction (begun here if nothing was produced) with
   * `offsets` as the group's consumed offsets, fenced by the consumer's group metadata
   * (KIP-447). Retriable failures are retried until `timeoutMs`; anything else throws, and
   * the caller aborts (or, for a fatal error, gives up the producer).
   */
  async commitTransaction(offsets: Kafka.TopicPartitionOffset[], consumer: Kafka.KafkaConsumer, timeoutMs: number): Promise<void> {
    const client = await this.#ready()
    // Records that come now belong to the next transaction; a failed commit keeps them out until the abort.
    this.#closeGate()
    const deadline = Date.now() + timeoutMs
    const retrying = async (what: string, f: (left: number, cb: (err: Kafka.LibrdKafkaError | null | undefined) => void) => void): Promise<void> => {
      for (;;) {
        try {
          await call(what, (cb) => f(Math.max(1000, deadline - Date.now()), cb))
          return
        } catch (error) {
          if (transactionFailure(error) !== 'retriable' || Date.now() > deadline) throw error
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    if (offsets.length > 0) await retrying('sendOffsetsToTransaction', (left, cb) => client.sendOffsetsToTransaction(offsets, consumer, left, cb))
    await retrying('commitTransaction', (left, cb) => client.commitTransaction(left, cb))
    this.#transaction = undefined
    this.#openGate()
  }

  /** Exactly-once: aborts the open transaction, if one was begun; its records are purged. */
  async abortTransaction(timeoutMs: number): Promise<void> {
    this.#aborts++
    const opening = this.#transaction
    if (opening === undefined || this.#client === undefined) {
      this.#openGate()
      return
    }
    this.#closeGate()
    const client = await this.#client
    await opening.catch(() => {})
    await call('abortTransaction', (cb) => client.abortTransaction(timeoutMs, cb))
    // Opened only once aborted: a failed abort is followed by replace(), which opens it.
    this.#transaction = undefined
    this.#openGate()
  }

  /**
   * At-least-once: an idempotent producer that hit a fatal error (its producer id was
   * refused: no WRITE on any topic yet) refuses every record from then on. It is dropped,
   * and the next record makes a new one, which succeeds once the cause is fixed (an ACL
   * granted). Exactly-once handles fatal errors with its transaction cycle (`replace`).
   */
  #dropIfFatal(err: unknown): void {
    if (this.#transactionalId !== undefined || (err as { code?: unknown }).code !== Kafka.CODES.ERRORS.ERR__FATAL) return
    const client = this.#client
    this.#client = undefined
    client?.then(closeProducer).catch(() => {})
  }

  /** Exactly-once, after a fatal error: the producer is dropped and the next use makes a new one (which fences this one). */
  async replace(): Promise<void> {
    this.#closeGate()
    this.#aborts++
    const client = this.#client
    this.#client = undefined
    this.#transaction = undefined
    try {
      if (client !== undefined) await client.then(closeProducer).catch(() => {})
    } finally {
      this.#openGate()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    try {
      await closeProducer(await client)
    } catch {
      // Never connected: nothing to close.
    }
  }
}
