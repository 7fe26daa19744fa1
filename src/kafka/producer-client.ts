/**
 * What every producer kvp makes shares (the engine's OutputProducer, the dead-letter
 * producers, the traffic of `kvp produce`): connecting with kvp's defaults, handing a
 * message to librdkafka while its local queue is full, flushing and closing, and headers
 * in the form the binding reads best.
 */
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import Kafka from 'node-rdkafka'
import type { KafkaSettings } from '../config/options.js'
import { KafkaError } from '../errors.js'
import { fromCallback } from './rdkafka-callback.js'

const QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL
const CONNECT_TIMEOUT_MS = 10_000
const POLL_INTERVAL_MS = 10

/** Settings of every producer kvp makes, under the caller's own. */
export const PRODUCER_DEFAULTS: Readonly<KafkaSettings> = {
  'client.id': 'kvp-producer',
  'linger.ms': 5,
  'queue.buffering.max.messages': 1_000_000,
}

/**
 * Connects a producer: PRODUCER_DEFAULTS under `settings`, delivery reports on, polled
 * every 10 ms. Rejects with a KafkaError when the brokers cannot be reached.
 */
export async function connectProducer(bootstrapServers: string, settings: KafkaSettings): Promise<Kafka.Producer> {
  const client = new Kafka.Producer({
    ...PRODUCER_DEFAULTS,
    ...settings,
    'bootstrap.servers': bootstrapServers,
    dr_cb: true,
  } as Kafka.ProducerGlobalConfig)
  // librdkafka reports transient broker trouble here and retries by itself.
  client.on('event.error', () => {})
  await fromCallback<unknown>(
    (cb) => client.connect({ timeout: CONNECT_TIMEOUT_MS }, cb),
    (err) => new KafkaError(`could not connect a producer to ${bootstrapServers}: ${err.message}`, { cause: err }),
  )
  client.setPollInterval(POLL_INTERVAL_MS)
  return client
}

/** Waits until everything queued is delivered (or `timeoutMs` passes); a client that is not connected has nothing queued. */
export async function flushProducer(client: Kafka.Producer, timeoutMs: number): Promise<void> {
  if (!client.isConnected()) return
  await fromCallback(
    (cb) => client.flush(timeoutMs, cb),
    (err) => new KafkaError(`flushing the producer failed: ${err.message}`, { cause: err }),
  )
}

/** Flushes what it can within 10 s, then disconnects. */
export async function closeProducer(client: Kafka.Producer): Promise<void> {
  if (!client.isConnected()) return
  try {
    await flushProducer(client, 10_000)
  } catch {
    // Whatever did not flush is reported through its delivery report; disconnect anyway.
  }
  await new Promise<void>((resolve) => {
    client.disconnect(5_000, () => resolve())
  })
}

/**
 * Hands one message to librdkafka with `send` (a `client.produce(...)` call). While the
 * local queue is full, lets librdkafka send and report, then tries again, as long as
 * `keepWaiting()` says so. Any other error (or a full queue no longer waited out) is thrown
 * as librdkafka raised it. Returns undefined when the message went at once, so a caller
 * in a loop awaits only when it must wait.
 */
export function produceWaitingForRoom(client: Kafka.Producer, send: () => void, keepWaiting: () => boolean = always): Promise<void> | undefined {
  try {
    send()
    return undefined
  } catch (err) {
    if (!isQueueFull(err) || !keepWaiting()) throw err
  }
  return (async () => {
    for (;;) {
      client.poll()
      await sleep(1)
      try {
        send()
        return
      } catch (err) {
        if (!isQueueFull(err) || !keepWaiting()) throw err
      }
    }
  })()
}

const always = (): boolean => true

export function isQueueFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === QUEUE_FULL
}

/** What librdkafka threw when a message could not be handed to it, as kvp's error. */
export function produceError(err: unknown, topic: string): KafkaError {
  const message = err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err) ? String((err as { message: unknown }).message) : String(err)
  return new KafkaError(`producing to ${topic} failed: ${message}`, { cause: err })
}

/**
 * Whether node-rdkafka's producer sends Buffer header values byte for byte. As published
 * (3.6.1) it turns each header value into a C string: the value ends at its first NUL byte
 * and non-UTF-8 bytes are replaced. kvp's postinstall (scripts/patch-node-rdkafka.js)
 * patches and rebuilds the binding, which then exports `producerBinaryHeaders: true`.
 * False means a binding that was installed without that script, or rebuilt from other
 * sources: text headers still travel intact, binary ones do not.
 */
export function producerKeepsBinaryHeaders(): boolean {
  const binding = createRequire(import.meta.url)('node-rdkafka/librdkafka.js') as { producerBinaryHeaders?: unknown }
  return binding.producerBinaryHeaders === true
}

/**
 * Headers as the binding reads them best: one `{ name: Buffer }` per header, in order.
 * Strings become their UTF-8 bytes; an object with several names becomes several headers
 * (the binding reads only the first name of each object).
 */
export function bufferHeaders(headers: readonly Kafka.MessageHeader[]): Kafka.MessageHeader[] {
  const out: Kafka.MessageHeader[] = []
  for (const header of headers) {
    for (const name of Object.keys(header)) {
      const value = header[name] as string | Buffer
      out.push({ [name]: typeof value === 'string' ? Buffer.from(value, 'utf8') : value })
    }
  }
  return out
}
