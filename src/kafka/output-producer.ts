import type Kafka from 'node-rdkafka'
import type { DecodedOutput } from '../codec/output-records.js'
import { ConfigError, ErrorCodes, KvpError } from '../errors.js'
import { bufferHeaders, closeProducer, connectProducer, flushProducer, isQueueFull, waitForRoom } from './produce.js'

type KafkaSettings = Record<string, string | number | boolean>

/** Settings kvp owns on the engine's producer. */
const OWNED = new Map<string, string>([
  ['enable.idempotence', 'kvp keeps idempotence on so retries neither duplicate nor reorder records'],
  ['bootstrap.servers', 'use the brokers option'],
  ['metadata.broker.list', 'use the brokers option'],
  ['dr_cb', 'kvp needs every delivery report'],
])

/** Checks user producer settings; throws a ConfigError naming the key kvp owns. */
export function checkProducerSettings(producer: Record<string, unknown>): void {
  for (const key of Object.keys(producer)) {
    const why = OWNED.get(key)
    if (why) throw new ConfigError(`producer.${key}`, `cannot be set: ${why}`)
  }
}

/** One batch of a slice's records: `done` runs once, after the last delivery report. */
interface Batch {
  left: number
  /** Source message (index in the slice) of each record. */
  sources: number[]
  failedAt: number
  error: KvpError | undefined
  done: (failedAt: number | undefined, error: KvpError | undefined) => void
}

interface Pending {
  batch?: Batch
  index?: number
  resolve?: () => void
  reject?: (error: Error) => void
}

/**
 * The engine's one producer (idempotent): sends what handlers produced with `ctx.produce()`
 * and the dead letters. Connected on first use.
 */
export class OutputProducer {
  readonly #bootstrapServers: string
  readonly #settings: KafkaSettings
  #client: Promise<Kafka.Producer> | undefined
  #closed = false

  constructor(bootstrapServers: string, settings: KafkaSettings) {
    this.#bootstrapServers = bootstrapServers
    this.#settings = settings
  }

  #connect(): Promise<Kafka.Producer> {
    if (this.#client === undefined) {
      const client = connectProducer(this.#bootstrapServers, { 'client.id': 'kvp-producer', 'linger.ms': 5, ...this.#settings, 'enable.idempotence': true }).then((producer) => {
        producer.on('delivery-report', (err, report) => this.#delivered(err, report))
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
    const error = err ? new KvpError(ErrorCodes.PRODUCE, `a record to topic '${report.topic}' was not delivered: ${err.message}`, { cause: err }) : undefined
    if (pending.batch !== undefined) this.#recordDone(pending.batch, pending.index as number, error)
    else if (error) pending.reject?.(error)
    else pending.resolve?.()
  }

  #recordDone(batch: Batch, index: number, error: KvpError | undefined): void {
    if (error !== undefined) {
      const source = batch.sources[index] as number
      if (source < batch.failedAt) {
        batch.failedAt = source
        batch.error = error
      }
    }
    if (--batch.left === 0) batch.done(batch.error === undefined ? undefined : batch.failedAt, batch.error)
  }

  /**
   * Sends a slice's records (`counts[i]` of them produced by its message `i`). `done` gets
   * the first message with a record that failed (and the error), or undefined once all are
   * delivered.
   */
  send(records: DecodedOutput[], counts: readonly number[], done: Batch['done']): void {
    const sources: number[] = []
    for (let m = 0; m < counts.length; m++) for (let c = 0; c < (counts[m] as number); c++) sources.push(m)
    const batch: Batch = { left: records.length, sources, failedAt: Number.POSITIVE_INFINITY, error: undefined, done }
    if (records.length === 0) {
      done(undefined, undefined)
      return
    }
    void this.#send(batch, records)
  }

  async #send(batch: Batch, records: DecodedOutput[]): Promise<void> {
    let client: Kafka.Producer
    try {
      client = await this.#connect()
    } catch (error) {
      const wrapped = new KvpError(ErrorCodes.PRODUCE, `could not connect the producer: ${(error as Error).message}`, { cause: error })
      for (let i = 0; i < records.length; i++) this.#recordDone(batch, i, wrapped)
      return
    }
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as DecodedOutput
      for (;;) {
        try {
          client.produce(record.topic, record.partition, record.value, record.key, null, { batch, index: i } satisfies Pending, record.headers)
          break
        } catch (err) {
          if (isQueueFull(err) && !this.#closed) {
            await waitForRoom(client)
            continue
          }
          const message = (err as { message?: string }).message ?? String(err)
          const error = new KvpError(ErrorCodes.PRODUCE, `producing a record to topic '${record.topic}' failed: ${message}`, { cause: err })
          // The rest is not sent: the messages from this one on run again, so they would be duplicates.
          for (let j = i; j < records.length; j++) this.#recordDone(batch, j, error)
          return
        }
      }
    }
  }

  /** Sends one message and resolves on its delivery report (dead letters). */
  async produce(topic: string, value: Buffer | null, key: Kafka.MessageKey | undefined, headers: Kafka.MessageHeader[] | undefined): Promise<void> {
    const client = await this.#connect()
    let pending!: Pending
    const delivered = new Promise<void>((resolve, reject) => {
      pending = { resolve, reject }
    })
    for (;;) {
      try {
        client.produce(topic, null, value, key, null, pending, headers && bufferHeaders(headers))
        return delivered
      } catch (err) {
        if (!isQueueFull(err)) throw new KvpError(ErrorCodes.KAFKA, `producing to ${topic} failed: ${(err as Error).message}`, { cause: err })
        await waitForRoom(client)
      }
    }
  }

  /** Waits until everything queued is delivered. */
  async flush(timeoutMs = 30_000): Promise<void> {
    if (this.#client === undefined) return
    await flushProducer(await this.#client, timeoutMs)
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
