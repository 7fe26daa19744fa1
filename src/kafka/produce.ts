import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type Kafka from 'node-rdkafka'
import type { KafkaSettings } from '../config/options.js'
import { ConfigError, KafkaError } from '../errors.js'
import { closeProducer, connectProducer, flushProducer, produceError, produceWaitingForRoom } from './producer-client.js'

/**
 * Test and demo traffic (`kvp produce`, the benchmarks, the tests): a numbered, keyed
 * stream written as fast as librdkafka takes it.
 */

/** Messages handed to librdkafka between two turns of the event loop (delivery reports run there). */
const CHUNK = 5_000

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
 * Rejects with a `KafkaError` (`KVP_KAFKA`) naming how many failed if any did.
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
          const waiting = produceWaitingForRoom(client, () => client.produce(topic, partition, messageValue(i, key), key))
          if (waiting !== undefined) await waiting
        } catch (err) {
          throw produceError(err, topic)
        }
        i++
      }
      await yieldToLoop()
    }
    await done
    await flushProducer(client, 30_000)
    onProgress?.(delivered, count)
    if (failed > 0) {
      throw new KafkaError(`${failed} of ${count} messages to ${topic} were not delivered: ${firstError?.message ?? 'unknown error'}`, { cause: firstError })
    }
    return { produced: delivered }
  } finally {
    await closeProducer(client)
  }
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(name, `expected an integer of ${min} or more, got ${value}`)
}
