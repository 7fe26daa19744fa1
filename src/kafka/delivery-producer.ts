import type Kafka from 'node-rdkafka'
import type { KafkaSettings } from '../config/options.js'
import { KafkaError } from '../errors.js'
import { bufferHeaders, closeProducer, connectProducer, flushProducer, produceError, produceWaitingForRoom } from './producer-client.js'

/**
 * A producer with a promise per message, for code that needs each delivery report: the
 * dead letters of a route with producer settings of its own, and tests.
 */
export interface KvpProducer {
  /** The underlying client, for what this wrapper does not cover. */
  readonly client: Kafka.Producer
  /**
   * Sends one message and resolves with its delivery report (topic, partition, offset),
   * or rejects with a `KafkaError` (`KVP_KAFKA`) when it could not be delivered. A full
   * local queue is waited out, not reported. Header values go as Buffers (`bufferHeaders`).
   */
  produce(topic: string, partition: number | null | undefined, value: Buffer | null, key?: Kafka.MessageKey, headers?: Kafka.MessageHeader[]): Promise<Kafka.DeliveryReport>
  /** Waits until everything queued so far is delivered (or `timeoutMs` passes). */
  flush(timeoutMs?: number): Promise<void>
  /** Flushes, then disconnects. Idempotent. */
  close(): Promise<void>
}

interface Pending {
  resolve(report: Kafka.DeliveryReport): void
  reject(error: Error): void
}

/** Connects a producer (./producer-client.ts: kvp's defaults under `settings`) that reports each delivery to its caller. */
export async function createProducer(bootstrapServers: string, settings: KafkaSettings = {}): Promise<KvpProducer> {
  const client = await connectProducer(bootstrapServers, settings)
  client.on('delivery-report', (err, report) => {
    const pending = report?.opaque as Pending | undefined
    if (pending === undefined) return
    // The opaque is this wrapper's bookkeeping, not the caller's.
    const { opaque: _opaque, ...delivered } = report
    if (err) pending.reject(new KafkaError(`a message to ${report.topic} was not delivered: ${err.message}`, { cause: err }))
    else pending.resolve(delivered)
  })

  const produce = async (topic: string, partition: number | null | undefined, value: Buffer | null, key?: Kafka.MessageKey, headers?: Kafka.MessageHeader[]): Promise<Kafka.DeliveryReport> => {
    let pending!: Pending
    const delivered = new Promise<Kafka.DeliveryReport>((resolve, reject) => {
      pending = { resolve, reject }
    })
    const sendHeaders = headers && bufferHeaders(headers)
    try {
      await produceWaitingForRoom(client, () => client.produce(topic, partition ?? null, value, key, null, pending, sendHeaders))
    } catch (err) {
      throw produceError(err, topic)
    }
    return delivered
  }

  let closed: Promise<void> | undefined
  return {
    client,
    produce,
    flush: (timeoutMs = 30_000) => flushProducer(client, timeoutMs),
    close() {
      closed ??= closeProducer(client)
      return closed
    },
  }
}
