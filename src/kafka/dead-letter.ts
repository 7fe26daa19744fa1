import type Kafka from 'node-rdkafka'
import type { KvpError } from '../errors.js'
import type { PartitionState } from '../dispatch/partition-state.js'
import { createProducer } from './produce.js'
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
  readonly #bootstrapServers: string
  /** One producer per route (routes may set their own producer settings), made on first use. */
  readonly #producers = new Map<number, Promise<KvpProducer>>()

  constructor(bootstrapServers: string) {
    this.#bootstrapServers = bootstrapServers
  }

  async write(state: PartitionState, message: Kafka.Message, error: KvpError, attempts: number): Promise<void> {
    const deadLetter = state.route.deadLetter
    if (deadLetter === undefined) throw new Error(`route '${state.topic}' has no dead-letter topic`)
    const producer = await this.#producer(state.route.index, deadLetter.kafka ?? {})
    await producer.produce(deadLetter.topic, null, message.value ?? null, message.key ?? null, deadLetterHeaders(message, error, attempts))
  }

  #producer(route: number, kafka: Record<string, string | number | boolean>): Promise<KvpProducer> {
    let producer = this.#producers.get(route)
    if (!producer) {
      const created = createProducer(this.#bootstrapServers, { 'client.id': 'kvp-dead-letter', 'linger.ms': 1, ...kafka })
      producer = created
      this.#producers.set(route, created)
      // A producer that failed to connect is made again on the next dead letter.
      created.catch(() => {
        if (this.#producers.get(route) === created) this.#producers.delete(route)
      })
    }
    return producer
  }

  async close(): Promise<void> {
    const producers = [...this.#producers.values()]
    this.#producers.clear()
    for (const producer of producers) {
      try {
        await (await producer).close()
      } catch {
        // Never connected: nothing to close.
      }
    }
  }
}
