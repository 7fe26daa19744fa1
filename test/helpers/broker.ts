/**
 * The broker an integration test file runs against, chosen by `KVP_TEST_BROKERS`:
 *
 * - `mock` (the default): librdkafka's embedded cluster, one per test file;
 * - `kafka`: Apache Kafka started by the project (`npm run test:kafka` starts one for the
 *   whole run and passes its address on; a file run on its own starts its own);
 * - `host:port[,host:port]`: a broker you already run (set `KVP_TEST_BROKER_KIND=mock` if it
 *   is an embedded cluster, so that tests needing a real broker skip).
 *
 * An Apache Kafka the tests start also serves secured listeners (SASL_SSL, a wrong-host
 * certificate, mTLS) with ACLs enforced for their users; `npm run test:kafka` hands their
 * description on in `KVP_TEST_SECURITY` (tools/apache-kafka/security.ts).
 */
import { after, before } from 'node:test'
import Kafka from 'node-rdkafka'
import { startMockCluster } from '../../src/index.js'
import { secureListenersFromEnv, type SecureListeners } from '../../tools/apache-kafka/security.js'

export type BrokerKind = 'mock' | 'kafka'

export interface TestBroker {
  /** The address to connect to; only inside a test or hook. */
  readonly bootstrapServers: string
  readonly kind: BrokerKind
  /**
   * The secured listeners, their TLS files and users; only inside a test or hook. Undefined
   * on the embedded cluster and on a broker given by address without `KVP_TEST_SECURITY`.
   */
  readonly security: SecureListeners | undefined
}

/** What `KVP_TEST_BROKERS` asks for, read without starting anything. */
export function brokerSetting(): { kind: BrokerKind; address: string | undefined } {
  const value = (process.env.KVP_TEST_BROKERS ?? 'mock').trim()
  if (value === '' || value === 'mock') return { kind: 'mock', address: undefined }
  if (value === 'kafka') return { kind: 'kafka', address: undefined }
  if (!/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/.test(value)) {
    throw new Error(`KVP_TEST_BROKERS: expected 'mock', 'kafka' or host:port[,host:port...], got '${value}'`)
  }
  const kind = process.env.KVP_TEST_BROKER_KIND === 'mock' ? 'mock' : 'kafka'
  return { kind, address: value }
}

/** The kind of broker this run's integration tests use. */
export const brokerKind: BrokerKind = brokerSetting().kind

/** `{ skip }` for a test that needs a real broker (one the embedded cluster cannot stand in for). */
export const needsRealBroker = brokerKind === 'kafka' ? {} : { skip: 'needs Apache Kafka (KVP_TEST_BROKERS=kafka, or npm run test:kafka)' }

/** One broker for a test file: started (or located) before its tests, stopped after them. */
export function useBroker(): TestBroker {
  const setting = brokerSetting()
  let address = setting.address
  let security = address !== undefined && setting.kind === 'kafka' ? secureListenersFromEnv() : undefined
  let stop: (() => Promise<void>) | undefined
  before(async () => {
    if (address !== undefined) return
    if (setting.kind === 'mock') {
      const cluster = await startMockCluster()
      address = cluster.bootstrapServers
      stop = () => cluster.stop()
    } else {
      const { startApacheKafka } = await import('../../tools/apache-kafka/broker.js')
      const broker = await startApacheKafka({ autoCreateTopics: false, security: true })
      address = broker.bootstrapServers
      security = broker.security
      stop = () => broker.stop()
    }
  })
  after(async () => {
    await stop?.()
  })
  return {
    kind: setting.kind,
    get bootstrapServers(): string {
      if (address === undefined) throw new Error('the test broker is not started yet (use it inside a test or hook)')
      return address
    },
    get security(): SecureListeners | undefined {
      if (address === undefined) throw new Error('the test broker is not started yet (use it inside a test or hook)')
      return security
    },
  }
}

export interface TopicSpec {
  partitions?: number
  /** Topic-level settings (cleanup.policy, segment.ms, ...); real brokers only. */
  config?: Record<string, string>
}

/**
 * Creates a topic with the admin client and waits until its leaders are known. The
 * embedded cluster cannot create topics (it makes every topic with 4 partitions on first
 * use): there only 4 partitions and no settings may be asked for, and the topic is made
 * by asking for its metadata.
 */
export async function createTopic(bootstrapServers: string, topic: string, spec: TopicSpec = {}): Promise<void> {
  const partitions = spec.partitions ?? 4
  if (brokerKind === 'mock') {
    if (partitions !== 4 || spec.config)
      throw new Error(`the embedded cluster makes topics with 4 partitions and no settings (asked: ${partitions} partitions${spec.config ? ', settings' : ''}); mark the test needsRealBroker`)
    await topicMetadata(bootstrapServers, topic, partitions)
    return
  }
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1, ...(spec.config ? { config: spec.config } : {}) }, 15_000, (err) =>
        err ? reject(new Error(`could not create topic '${topic}': ${err.message}`)) : resolve(),
      )
    })
  } finally {
    admin.disconnect()
  }
  await topicMetadata(bootstrapServers, topic, partitions)
}

/** Waits until the topic's metadata shows `partitions` partitions, each with a leader. */
async function topicMetadata(bootstrapServers: string, topic: string, partitions: number): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    const deadline = Date.now() + 15_000
    for (;;) {
      const metadata = await new Promise<Kafka.Metadata | undefined>((resolve) => {
        producer.getMetadata({ topic, timeout: 5_000 }, (err, data) => resolve(err ? undefined : data))
      })
      const found = metadata?.topics.find((entry) => entry.name === topic)
      if (found && found.partitions.length === partitions && found.partitions.every((p) => p.leader >= 0)) return
      if (Date.now() > deadline) throw new Error(`topic '${topic}' has no leaders for its ${partitions} partitions after 15 s`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  }
}
