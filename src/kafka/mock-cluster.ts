import Kafka from 'node-rdkafka'
import { MAX_MOCK_BROKERS } from '../config/schema.js'
import { ConfigError, KafkaError } from '../errors.js'
import { fromCallback } from './rdkafka-callback.js'

/**
 * librdkafka's embedded mock cluster: a real Kafka-protocol server inside librdkafka,
 * listening on 127.0.0.1. It lives as long as the client that created it, so this keeps
 * one idle producer open for it. Topics are auto-created with 4 partitions.
 */
export interface MockCluster {
  readonly bootstrapServers: string
  stop(): Promise<void>
}

export async function startMockCluster(options: { brokers?: number } = {}): Promise<MockCluster> {
  const brokers = options.brokers ?? 1
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > MAX_MOCK_BROKERS) {
    throw new ConfigError('brokers', `expected an integer 1..${MAX_MOCK_BROKERS} (brokers of the mock cluster), got ${brokers}`)
  }
  const holder = new Kafka.Producer({
    'test.mock.num.brokers': brokers,
    'client.id': 'kvp-mock-cluster',
    log_level: 3,
  } as Kafka.ProducerGlobalConfig)
  // The mock cluster logs nothing useful at error level on shutdown; swallow client events.
  holder.on('event.error', () => {})

  const metadata = await fromCallback<Kafka.Metadata>(
    (cb) => holder.connect({ timeout: 10_000 }, cb),
    (err) => new KafkaError(`could not start the embedded Kafka cluster: ${err.message}`, { cause: err }),
  )
  const bootstrapServers = metadata.brokers
    .map((broker) => `${broker.host}:${broker.port}`)
    .sort()
    .join(',')

  let stopped: Promise<void> | undefined
  return {
    bootstrapServers,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        holder.disconnect(5_000, () => resolve())
      })
      return stopped
    },
  }
}
