import Kafka from 'node-rdkafka'
import { uniqueName } from './kafka.js'

export interface ReadMessage {
  key: string | null
  value: string | null
  headers: Record<string, string>
}

/**
 * Reads a topic from the beginning (all 4 partitions) until `count` messages or the timeout,
 * as node-rdkafka gives them: key and value Buffers, headers `[{ name: Buffer }]` in order.
 */
export async function readRawTopic(bootstrapServers: string, topic: string, count: number, timeoutMs = 20_000): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': uniqueName('reader'), 'enable.auto.commit': false, log_level: 3 }, { 'auto.offset.reset': 'earliest' })
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 })))
  const found: Kafka.Message[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (found.length < count && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (err, messages) => (err ? reject(err) : resolve(messages))))
      found.push(...batch)
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
  return found
}

/** Like `readRawTopic`, with keys, values and headers as text (a repeated header: the last one). */
export async function readTopic(bootstrapServers: string, topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  return (await readRawTopic(bootstrapServers, topic, count, timeoutMs)).map((message) => {
    const headers: Record<string, string> = {}
    for (const header of message.headers ?? []) for (const [name, value] of Object.entries(header)) headers[name] = value.toString()
    return { key: message.key ? message.key.toString() : null, value: message.value ? message.value.toString() : null, headers }
  })
}

/**
 * Reads one partition from offset 0 up to its end offset as it is now, with the given
 * isolation level: what a consumer can see of it (after compaction, or without aborted
 * transactions). Markers and removed records leave gaps in the offsets it returns.
 */
export async function readPartition(
  bootstrapServers: string,
  topic: string,
  partition = 0,
  options: { isolation?: 'read_committed' | 'read_uncommitted'; timeoutMs?: number } = {},
): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrapServers,
      'group.id': uniqueName('reader'),
      'enable.auto.commit': false,
      log_level: 3,
      'isolation.level': options.isolation ?? 'read_committed',
    },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  try {
    // Under read_committed the end is the last stable offset: what is below any open transaction.
    const { lowOffset, highOffset: end } = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => {
      consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, offsets) => (err ? reject(err) : resolve(offsets)))
    })
    // Nothing to read: the position would stay unknown.
    if (end <= lowOffset) return []
    consumer.assign([{ topic, partition, offset: 0 }])
    const found: Kafka.Message[] = []
    const deadline = Date.now() + (options.timeoutMs ?? 20_000)
    for (;;) {
      const position = consumer.position([{ topic, partition }])[0]?.offset ?? -1
      if (position >= end) return found
      if (Date.now() > deadline) throw new Error(`reading ${topic}/${partition}: position ${position} short of the end offset ${end} after ${options.timeoutMs ?? 20_000} ms`)
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(500, (err, messages) => (err ? reject(err) : resolve(messages))))
      found.push(...batch)
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}
