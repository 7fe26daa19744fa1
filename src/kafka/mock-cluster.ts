import Kafka from 'node-rdkafka'
import { ErrorCodes, KvpError } from '../errors.js'

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
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 16) {
    throw new KvpError(ErrorCodes.CONFIG, `mock cluster brokers: expected an integer 1..16, got ${brokers}`, { field: 'brokers' })
  }
  const holder = new Kafka.Producer({
    'test.mock.num.brokers': brokers,
    'client.id': 'kvp-mock-cluster',
    log_level: 3,
  } as Kafka.ProducerGlobalConfig)
  // The mock cluster logs nothing useful at error level on shutdown; swallow client events.
  holder.on('event.error', () => {})

  const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
    holder.connect({ timeout: 10_000 }, (err, data) => {
      if (err) reject(new KvpError(ErrorCodes.KAFKA, `could not start the embedded Kafka cluster: ${err.message}`, { cause: err }))
      else resolve(data)
    })
  })
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
