import type Kafka from 'node-rdkafka'
import type { KvpError } from '../errors.js'
import type { PartitionState } from '../dispatch/partition-state.js'
import type { KvpProducer } from './produce.js'

/** Headers kvp adds to a dead-lettered message, beside the original ones. */
export const DeadLetterHeaders = {
  errorMessage: 'kvp-error-message',
  errorCode: 'kvp-error-code',
  topic: 'kvp-original-topic',
  partition: 'kvp-original-partition',
  offset: 'kvp-original-offset',
  attempts: 'kvp-attempts',
} as const

export function deadLetterHeaders(message: Kafka.Message, error: KvpError, attempts: number): Kafka.MessageHeader[] {
  const headers: Kafka.MessageHeader[] = message.headers ? [...message.headers] : []
  headers.push(
    { [DeadLetterHeaders.errorMessage]: error.message.slice(0, 4096) },
    { [DeadLetterHeaders.errorCode]: error.code },
    { [DeadLetterHeaders.topic]: message.topic },
    { [DeadLetterHeaders.partition]: String(message.partition) },
    { [DeadLetterHeaders.offset]: String(message.offset) },
    { [DeadLetterHeaders.attempts]: String(attempts) },
  )
  return headers
}

/**
 * Writes failed messages to their route's dead-letter topic with their original key,
 * value and headers; resolves only on a successful delivery report.
 */
export class DeadLetterWriter {
  readonly #producer: () => Promise<KvpProducer>

  constructor(producer: () => Promise<KvpProducer>) {
    this.#producer = producer
  }

  async write(state: PartitionState, message: Kafka.Message, error: KvpError, attempts: number): Promise<void> {
    const topic = state.route.deadLetter?.topic
    if (topic === undefined) throw new Error(`route '${state.topic}' has no dead-letter topic`)
    const producer = await this.#producer()
    await producer.produce(topic, null, message.value ?? null, message.key ?? null, deadLetterHeaders(message, error, attempts))
  }
}
