import Kafka from 'node-rdkafka'
import { uniqueName } from './kafka.js'

export interface ReadMessage {
  key: string | null
  value: string | null
  headers: Record<string, string>
}

/** Reads a topic from the beginning (all 4 partitions) until `count` messages or the timeout. */
export async function readTopic(bootstrapServers: string, topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': uniqueName('reader'), 'enable.auto.commit': false, 'log_level': 3 }, { 'auto.offset.reset': 'earliest' })
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 })))
  const found: ReadMessage[] = []
  const deadline = Date.now() + timeoutMs
  try {
    while (found.length < count && Date.now() < deadline) {
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (err, messages) => (err ? reject(err) : resolve(messages))))
      for (const message of batch) {
        const headers: Record<string, string> = {}
        for (const header of message.headers ?? []) for (const [name, value] of Object.entries(header)) headers[name] = value.toString()
        found.push({ key: message.key ? message.key.toString() : null, value: message.value ? message.value.toString() : null, headers })
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
  return found
}
