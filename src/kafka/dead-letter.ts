import type Kafka from 'node-rdkafka'
import type { ResolvedRoute } from '../config/resolve.js'
import { InternalError, type KvpError } from '../errors.js'
import type { PartitionState } from '../dispatch/partition-state.js'
import type { KafkaSettings } from '../config/options.js'
import { createProducer, type KvpProducer } from './delivery-producer.js'
import { bufferHeaders, producerKeepsBinaryHeaders } from './producer-client.js'
import type { OutputProducer } from './output-producer.js'

/** Headers kvp adds to a dead-lettered message, beside the original ones. */
export const DeadLetterHeaders = {
  errorMessage: 'kvp-error-message',
  errorCode: 'kvp-error-code',
  topic: 'kvp-original-topic',
  partition: 'kvp-original-partition',
  offset: 'kvp-original-offset',
  attempts: 'kvp-attempts',
} as const

/**
 * The original headers, in order and with repeats, then kvp's. Every value is a Buffer: the
 * patched binding sends Buffers byte for byte (see `producerKeepsBinaryHeaders()`).
 */
export function deadLetterHeaders(message: Kafka.Message, error: KvpError, attempts: number): Kafka.MessageHeader[] {
  const headers = message.headers ? bufferHeaders(message.headers) : []
  headers.push(
    { [DeadLetterHeaders.errorMessage]: utf8(error.message.slice(0, 4096)) },
    { [DeadLetterHeaders.errorCode]: utf8(error.code) },
    { [DeadLetterHeaders.topic]: utf8(message.topic) },
    { [DeadLetterHeaders.partition]: utf8(String(message.partition)) },
    { [DeadLetterHeaders.offset]: utf8(String(message.offset)) },
    { [DeadLetterHeaders.attempts]: utf8(String(attempts)) },
  )
  return headers
}

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8')
}

let warnedUnpatched = false

/**
 * Warns once per process (a `KvpWarning`, code `KVP_BINARY_HEADERS`) when a route has a
 * dead-letter topic but node-rdkafka's producer is not patched to send binary header values
 * intact. A warning, not an error: text headers still arrive intact, and an engine that
 * refused to start over a header its messages may never carry would be worse.
 */
export function warnIfDeadLettersLoseBinaryHeaders(routes: readonly ResolvedRoute[]): void {
  if (warnedUnpatched) return
  const topics = routes.flatMap((route) => (route.deadLetter ? [route.deadLetter.topic] : []))
  if (topics.length === 0 || producerKeepsBinaryHeaders()) return
  warnedUnpatched = true
  process.emitWarning(
    `dead letters (${topics.join(', ')}) may lose binary header values: node-rdkafka's producer is not patched, so a ` +
      'header value ends at its first NUL byte and non-UTF-8 bytes are replaced. kvp patches it when installed; ' +
      "run `npm rebuild kvp` (in kvp's own checkout: `npm run postinstall`) and do not install with --ignore-scripts.",
    { type: 'KvpWarning', code: 'KVP_BINARY_HEADERS' },
  )
}

/**
 * Writes failed messages to their route's dead-letter topic with their original key,
 * value and headers; resolves only on a successful delivery report.
 */
export class DeadLetterWriter {
  readonly #bootstrapServers: string
  /** One producer per route (routes may set their own producer settings), made on first use. */
  readonly #producers = new Map<number, Promise<KvpProducer>>()
  /** The engine's producer: dead letters of routes without settings of their own share it. */
  readonly #shared: OutputProducer | undefined

  constructor(bootstrapServers: string, shared?: OutputProducer) {
    this.#bootstrapServers = bootstrapServers
    this.#shared = shared
  }

  async write(state: PartitionState, message: Kafka.Message, error: KvpError, attempts: number): Promise<void> {
    const deadLetter = state.route.deadLetter
    if (deadLetter === undefined) throw new InternalError(`route '${state.topic}' has no dead-letter topic`)
    if (this.#shared !== undefined && deadLetter.kafka === undefined) {
      await this.#shared.produce(deadLetter.topic, message.value ?? null, message.key ?? null, deadLetterHeaders(message, error, attempts))
      return
    }
    const producer = await this.#producer(state.route.index, deadLetter.kafka ?? {})
    await producer.produce(deadLetter.topic, null, message.value ?? null, message.key ?? null, deadLetterHeaders(message, error, attempts))
  }

  #producer(route: number, kafka: KafkaSettings): Promise<KvpProducer> {
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
