/** A node-rdkafka consumer for the baselines: connect, consume a batch as a promise, disconnect. */
import Kafka from 'node-rdkafka'
import { FETCH_TUNING } from '../../src/kafka/consumer-config.js'

/** How long one consume call waits for each next message before returning what it has. */
const CONSUME_TIMEOUT_MS = 100

export async function connectConsumer(bootstrapServers: string, groupId: string): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrapServers,
      'group.id': groupId,
      'client.id': `bench-${groupId}`,
      'session.timeout.ms': 6000,
      'enable.auto.commit': true,
      // Fetched as kvp fetches: the baselines differ from it only in what they do with messages.
      ...FETCH_TUNING,
      log_level: 3,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  consumer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => {
    consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve()))
  })
  consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS)
  return consumer
}

export function consumeBatch(consumer: Kafka.KafkaConsumer, max: number): Promise<Kafka.Message[]> {
  return new Promise((resolve, reject) => {
    consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages)))
  })
}

export function disconnectConsumer(consumer: Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!consumer.isConnected()) {
      resolve()
      return
    }
    consumer.disconnect(() => resolve())
  })
}
