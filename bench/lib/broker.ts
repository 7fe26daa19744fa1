/**
 * The broker a benchmark runs against (`--brokers`): librdkafka's embedded cluster, an
 * Apache Kafka broker started for the run and stopped after it, or a cluster that is
 * already running. Whichever it is, the benchmark talks to it through `bootstrapServers`.
 */
import Kafka from 'node-rdkafka'
import { startMockCluster } from '../../src/kafka/mock-cluster.js'
import type { BrokerChoice } from './cli-args.js'
import type { BrokerInfo } from './results.js'

export interface BenchBroker {
  readonly info: BrokerInfo
  readonly bootstrapServers: string
  /** Stops what the benchmark started (nothing, for an external cluster). Idempotent. */
  stop(): Promise<void>
}

/** How long an external cluster may take to answer a metadata request before the run gives up. */
export const PROBE_TIMEOUT_MS = 10_000

export async function openBroker(choice: BrokerChoice, log: (line: string) => void): Promise<BenchBroker> {
  switch (choice.kind) {
    case 'mock': {
      const cluster = await startMockCluster({ brokers: 1 })
      return { info: { kind: 'mock', version: null }, bootstrapServers: cluster.bootstrapServers, stop: () => cluster.stop() }
    }
    case 'kafka': {
      const { KAFKA_VERSION, startApacheKafka } = await import('../../tools/apache-kafka/broker.js')
      log(`starting Apache Kafka ${KAFKA_VERSION} (one KRaft node, topics created by the benchmark only)`)
      const broker = await startApacheKafka({ autoCreateTopics: false, log: (line) => log(`  ${line}`) })
      return { info: { kind: 'apache-kafka', version: KAFKA_VERSION }, bootstrapServers: broker.bootstrapServers, stop: () => broker.stop() }
    }
    case 'external': {
      const brokers = await probeBrokers(choice.address, PROBE_TIMEOUT_MS)
      log(`using the Kafka cluster at ${choice.address} (${brokers} broker${brokers === 1 ? '' : 's'})`)
      return { info: { kind: 'external', version: null }, bootstrapServers: choice.address, stop: async () => {} }
    }
  }
}

/**
 * Asks `address` for its metadata within `timeoutMs`; resolves with the number of brokers
 * it lists, or rejects with an error naming the address (never waits longer).
 */
export async function probeBrokers(address: string, timeoutMs: number): Promise<number> {
  const client = new Kafka.Producer({
    'bootstrap.servers': address,
    'client.id': 'kvp-bench-probe',
    log_level: 0,
    'socket.connection.setup.timeout.ms': Math.max(1000, timeoutMs),
  } as Kafka.ProducerGlobalConfig)
  client.on('event.error', () => {})
  client.on('event.log', () => {})
  const unreachable = (why: string): Error => new Error(`could not reach the Kafka brokers at ${address} (--brokers) within ${timeoutMs / 1000} s: ${why}`)
  let timer: NodeJS.Timeout | undefined
  try {
    const metadata = await Promise.race([
      new Promise<Kafka.Metadata>((resolve, reject) => {
        client.connect({ timeout: timeoutMs }, (err, data) => (err ? reject(unreachable(err.message)) : resolve(data)))
      }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(unreachable('no answer')), timeoutMs + 2_000)
      }),
    ])
    return metadata.brokers.length
  } finally {
    clearTimeout(timer)
    await new Promise<void>((resolve) => {
      if (!client.isConnected()) {
        resolve()
        return
      }
      client.disconnect(2_000, () => resolve())
    })
  }
}
