import { createRequire } from 'node:module'
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises'
import Kafka from 'node-rdkafka'
import { ErrorCodes, KvpError } from '../errors.js'

/**
 * Producing test and demo traffic: `produceMessages()` writes a numbered, keyed stream
 * as fast as librdkafka takes it, and `createProducer()` wraps one producer with a
 * promise per message for code that needs each delivery report (dead letters, tests).
 */

type KafkaSettings = Record<string, string | number | boolean>

const QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL
const CONNECT_TIMEOUT_MS = 10_000
const POLL_INTERVAL_MS = 10
/** Messages handed to librdkafka between two turns of the event loop (delivery reports run there). */
const CHUNK = 5_000

const PRODUCER_DEFAULTS: KafkaSettings = {
  'client.id': 'kvp-producer',
  'linger.ms': 5,
  'queue.buffering.max.messages': 1_000_000,
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

export interface KvpProducer {
  /** The underlying client, for what this wrapper does not cover. */
  readonly client: Kafka.Producer
  /**
   * Sends one message and resolves with its delivery report (topic, partition, offset),
   * or rejects with a `KvpError` (`KVP_KAFKA`) when it could not be delivered. A full
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

/** Connects a producer with delivery reports on and polling every 10 ms. */
export async function createProducer(bootstrapServers: string, extraConfig: KafkaSettings = {}): Promise<KvpProducer> {
  const client = await connectProducer(bootstrapServers, extraConfig)
  client.on('delivery-report', (err, report) => {
    const pending = report?.opaque as Pending | undefined
    if (pending === undefined) return
    // The opaque is this wrapper's bookkeeping, not the caller's.
    const { opaque: _opaque, ...delivered } = report
    if (err) pending.reject(deliveryError(err, report.topic))
    else pending.resolve(delivered)
  })

  const produce = async (topic: string, partition: number | null | undefined, value: Buffer | null, key?: Kafka.MessageKey, headers?: Kafka.MessageHeader[]): Promise<Kafka.DeliveryReport> => {
    let pending!: Pending
    const delivered = new Promise<Kafka.DeliveryReport>((resolve, reject) => {
      pending = { resolve, reject }
    })
    for (;;) {
      try {
        client.produce(topic, partition ?? null, value, key, null, pending, headers && bufferHeaders(headers))
        return delivered
      } catch (err) {
        if (!isQueueFull(err)) throw produceError(err, topic)
        await waitForRoom(client)
      }
    }
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

export interface ProduceMessagesOptions {
  bootstrapServers: string
  topic: string
  /** Messages to write. */
  count: number
  /** Distinct keys: message `i` has key `key-<i % keys>`. Default 1000. */
  keys?: number
  /** Value size in bytes. Default 100. With `json`, the object is padded to about this size. */
  size?: number
  /** A fixed partition; without it librdkafka's partitioner picks one by key. */
  partition?: number
  /** Values are `{"id":i,"key":"key-…","pad":"…"}` instead of raw bytes. */
  json?: boolean
  /** librdkafka settings over the defaults. */
  kafka?: KafkaSettings
  /** Called as delivery reports arrive (about every 1%) and once at the end. */
  onProgress?: (delivered: number, count: number) => void
}

/**
 * Writes `count` messages and waits for every delivery report. Messages are handed to
 * librdkafka without waiting on each one; a full local queue is polled and retried.
 * Rejects with a `KvpError` (`KVP_KAFKA`) naming how many failed if any did.
 */
export async function produceMessages(options: ProduceMessagesOptions): Promise<{ produced: number }> {
  const { topic, count } = options
  const keys = options.keys ?? 1000
  const size = options.size ?? 100
  checkCount('count', count, 0)
  checkCount('keys', keys, 1)
  checkCount('size', size, 0)
  if (options.partition !== undefined) checkCount('partition', options.partition, 0)
  if (count === 0) return { produced: 0 }

  const client = await connectProducer(options.bootstrapServers, options.kafka ?? {})
  try {
    let delivered = 0
    let failed = 0
    let firstError: Kafka.LibrdKafkaError | undefined
    const step = Math.max(1, Math.floor(count / 100))
    const onProgress = options.onProgress
    let allReported!: () => void
    const done = new Promise<void>((resolve) => {
      allReported = resolve
    })
    client.on('delivery-report', (err) => {
      if (err) {
        failed++
        firstError ??= err
      } else {
        delivered++
      }
      const reported = delivered + failed
      if (onProgress !== undefined && reported % step === 0) onProgress(delivered, count)
      if (reported === count) allReported()
    })

    const partition = options.partition ?? null
    const rawValue = options.json ? undefined : Buffer.alloc(size, 'kvp-')
    const pad = options.json ? 'x'.repeat(size) : ''
    const messageValue = (i: number, key: string): Buffer => {
      if (rawValue !== undefined) return rawValue // librdkafka copies the bytes
      const head = `{"id":${i},"key":"${key}","pad":"`
      return Buffer.from(`${head}${pad.slice(0, Math.max(0, size - head.length - 2))}"}`)
    }

    let i = 0
    while (i < count) {
      const end = Math.min(count, i + CHUNK)
      while (i < end) {
        const key = `key-${i % keys}`
        try {
          client.produce(topic, partition, messageValue(i, key), key)
          i++
        } catch (err) {
          if (!isQueueFull(err)) throw produceError(err, topic)
          await waitForRoom(client)
        }
      }
      await yieldToLoop()
    }
    await done
    await flushProducer(client, 30_000)
    onProgress?.(delivered, count)
    if (failed > 0) {
      throw new KvpError(ErrorCodes.KAFKA, `${failed} of ${count} messages to ${topic} were not delivered: ${firstError?.message ?? 'unknown error'}`, { cause: firstError })
    }
    return { produced: delivered }
  } finally {
    await closeProducer(client)
  }
}

export async function connectProducer(bootstrapServers: string, extraConfig: KafkaSettings): Promise<Kafka.Producer> {
  const client = new Kafka.Producer({
    ...PRODUCER_DEFAULTS,
    ...extraConfig,
    'bootstrap.servers': bootstrapServers,
    dr_cb: true,
  } as Kafka.ProducerGlobalConfig)
  // librdkafka reports transient broker trouble here and retries by itself.
  client.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => {
    client.connect({ timeout: CONNECT_TIMEOUT_MS }, (err) => {
      if (err) {
        reject(new KvpError(ErrorCodes.KAFKA, `could not connect a producer to ${bootstrapServers}: ${err.message}`, { cause: err }))
      } else {
        resolve()
      }
    })
  })
  client.setPollInterval(POLL_INTERVAL_MS)
  return client
}

export function flushProducer(client: Kafka.Producer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.isConnected()) {
      resolve()
      return
    }
    client.flush(timeoutMs, (err) => {
      if (err) reject(new KvpError(ErrorCodes.KAFKA, `flushing the producer failed: ${err.message}`, { cause: err }))
      else resolve()
    })
  })
}

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

/** Lets librdkafka send and report before the next attempt. */
export async function waitForRoom(client: Kafka.Producer): Promise<void> {
  client.poll()
  await sleep(1)
}

export function isQueueFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === QUEUE_FULL
}

function produceError(err: unknown, topic: string): KvpError {
  const message = err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err) ? String((err as { message: unknown }).message) : String(err)
  return new KvpError(ErrorCodes.KAFKA, `producing to ${topic} failed: ${message}`, { cause: err })
}

function deliveryError(err: Kafka.LibrdKafkaError, topic: string): KvpError {
  return new KvpError(ErrorCodes.KAFKA, `a message to ${topic} was not delivered: ${err.message}`, { cause: err })
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new KvpError(ErrorCodes.CONFIG, `${name}: expected an integer of ${min} or more, got ${value}`, { field: name })
  }
}
