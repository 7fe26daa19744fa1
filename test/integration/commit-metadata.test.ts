/**
 * The node-rdkafka patch's commit metadata (patches/, src/common.cc): topic partition lists
 * carry `metadata` to the broker through commitSync, commit, offsetsStore and
 * sendOffsetsToTransaction, and committed() returns it. Each path is checked against what
 * another client (KafkaJS) reads from the broker, so a value kept only in the client would
 * not pass.
 */
import { strict as assert } from 'node:assert'
import { createRequire } from 'node:module'
import { before, describe, test } from 'node:test'
import { Kafka as KafkaJs, logLevel } from 'kafkajs'
import Kafka from 'node-rdkafka'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { commitWithKafkaJs } from '../helpers/foreign-commit.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'

type Committed = Kafka.TopicPartitionOffsetAndMetadata

const binding = createRequire(import.meta.url)('node-rdkafka/librdkafka.js') as { topicPartitionMetadata?: unknown }

function connect<T extends Kafka.Client<never>>(client: T): Promise<T> {
  return new Promise((resolve, reject) => client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve(client))))
}

function disconnect(client: Kafka.Client<never>): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()))
}

function consumer(bootstrapServers: string, groupId: string, extra: Kafka.ConsumerGlobalConfig = {}): Kafka.KafkaConsumer {
  return new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3, ...extra }, { 'auto.offset.reset': 'earliest' })
}

/** committed() for one partition, retried while a fresh coordinator is loading. */
async function committedOf(client: Kafka.KafkaConsumer, topic: string, partition: number): Promise<Committed | undefined> {
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      const list = await new Promise<Committed[]>((resolve, reject) => client.committed([{ topic, partition }], 10_000, (err, offsets) => (err ? reject(err) : resolve(offsets))))
      return list.find((entry) => entry.partition === partition)
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

/** What the broker holds for a group, as KafkaJS's admin client reads it. */
async function brokerView(bootstrapServers: string, groupId: string, topic: string): Promise<Array<{ partition: number; offset: string; metadata: string | null }>> {
  const admin = new KafkaJs({ brokers: bootstrapServers.split(','), logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (entry?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata }))
  } finally {
    await admin.disconnect()
  }
}

describe('commit metadata through the patched binding', { timeout: 120_000 }, () => {
  const cluster = useBroker()
  const topic = uniqueName('commit-metadata')

  before(async () => {
    await ensureTopic(cluster.bootstrapServers, topic, { partitions: 4 })
    for (let partition = 0; partition < 4; partition++) await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 10, partition })
  })

  test('the binding says it carries metadata', () => {
    assert.equal(binding.topicPartitionMetadata, true)
  })

  test('commitSync sends metadata, committed() returns it, and another client reads the same bytes', async () => {
    const group = uniqueName('md-sync')
    const client = await connect(consumer(cluster.bootstrapServers, group))
    try {
      const text = 'kvp1:AbC+/=ünï€'
      client.commitSync([
        { topic, partition: 0, offset: 3, metadata: text },
        { topic, partition: 1, offset: 5 },
      ])
      const zero = await committedOf(client, topic, 0)
      assert.equal(zero?.offset, 3)
      assert.equal(zero?.metadata, text)
      const one = await committedOf(client, topic, 1)
      assert.equal(one?.offset, 5)
      assert.equal(one?.metadata ?? '', '', 'a partition committed without metadata has none')
    } finally {
      await disconnect(client)
    }
    const view = await brokerView(cluster.bootstrapServers, group, topic)
    assert.deepEqual(
      view.filter((p) => p.partition === 0).map((p) => [p.offset, p.metadata]),
      [['3', 'kvp1:AbC+/=ünï€']],
    )
  })

  test('an asynchronous commit sends metadata; a 4,000-character value arrives whole', async () => {
    const group = uniqueName('md-async')
    const client = await connect(consumer(cluster.bootstrapServers, group))
    const long = `${'x'.repeat(3_990)}0123456789`
    try {
      client.commit([{ topic, partition: 2, offset: 7, metadata: long }])
      await waitFor('the asynchronous commit', async () => (await committedOf(client, topic, 2))?.offset === 7, 20_000, 200)
      assert.equal((await committedOf(client, topic, 2))?.metadata, long)
    } finally {
      await disconnect(client)
    }
    const view = await brokerView(cluster.bootstrapServers, group, topic)
    assert.equal(view.find((p) => p.partition === 2)?.metadata, long)
  })

  test('metadata another client committed is read by committed()', async () => {
    const group = uniqueName('md-foreign')
    await commitWithKafkaJs(cluster.bootstrapServers, group, topic, 3, 4, 'written by another client')
    const client = await connect(consumer(cluster.bootstrapServers, group))
    try {
      const three = await committedOf(client, topic, 3)
      assert.equal(three?.offset, 4)
      assert.equal(three?.metadata, 'written by another client')
    } finally {
      await disconnect(client)
    }
  })

  test('offsetsStore keeps metadata: a commit of the stored offsets carries it', async () => {
    const group = uniqueName('md-store')
    const client = await connect(consumer(cluster.bootstrapServers, group, { 'enable.auto.offset.store': false }))
    try {
      const seen: Kafka.Message[] = []
      client.subscribe([topic])
      await waitFor(
        'a message from the subscribed topic',
        () =>
          new Promise<boolean>((resolve) =>
            client.consume(50, (err, messages) => {
              if (!err) seen.push(...messages)
              resolve(seen.length > 0)
            }),
          ),
        60_000,
        0,
      )
      const first = seen[0] as Kafka.Message
      client.offsetsStore([{ topic, partition: first.partition, offset: first.offset + 1, metadata: 'stored with the offset' }])
      client.commitSync(null)
      const entry = await committedOf(client, topic, first.partition)
      assert.equal(entry?.offset, first.offset + 1)
      assert.equal(entry?.metadata, 'stored with the offset')
    } finally {
      await disconnect(client)
    }
  })

  test("sendOffsetsToTransaction sends metadata with the transaction's offsets", needsRealBroker, async () => {
    const group = uniqueName('md-txn')
    const client = await connect(consumer(cluster.bootstrapServers, group))
    const producer = new Kafka.Producer({ 'bootstrap.servers': cluster.bootstrapServers, 'transactional.id': uniqueName('md-txn'), log_level: 3 })
    await connect(producer)
    const call = (fn: (cb: (err: Kafka.LibrdKafkaError | null) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())))
    try {
      await call((cb) => producer.initTransactions(10_000, cb))
      await call((cb) => producer.beginTransaction(cb))
      await call((cb) => producer.sendOffsetsToTransaction([{ topic, partition: 1, offset: 9, metadata: 'in the transaction' }], client, 10_000, cb))
      await call((cb) => producer.commitTransaction(10_000, cb))
      const entry = await committedOf(client, topic, 1)
      assert.equal(entry?.offset, 9)
      assert.equal(entry?.metadata, 'in the transaction')
    } finally {
      await disconnect(producer)
      await disconnect(client)
    }
  })

  test("metadata over the broker's limit is refused with OFFSET_METADATA_TOO_LARGE, not cut", needsRealBroker, async () => {
    const group = uniqueName('md-large')
    const client = await connect(consumer(cluster.bootstrapServers, group))
    try {
      assert.throws(
        () => client.commitSync([{ topic, partition: 0, offset: 1, metadata: 'y'.repeat(5_000) }]),
        (error: { code?: number }) => error.code === Kafka.CODES.ERRORS.ERR_OFFSET_METADATA_TOO_LARGE,
      )
    } finally {
      await disconnect(client)
    }
  })
})
