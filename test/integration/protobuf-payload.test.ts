import { strict as assert } from 'node:assert'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import protobuf from 'protobufjs'
import { DeadLetterHeaders, startEngine } from '../../src/index.js'
import { createProducer } from '../../src/kafka/delivery-producer.js'
import { committedOrZero, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler } from '../helpers/paths.js'
import { readRecords } from '../helpers/records.js'
import { readTopic } from '../helpers/read-topic.js'
import { useBroker } from '../helpers/broker.js'
import { deadLetterNames, engineOptions } from '../helpers/engine-run.js'

const protoFile = fileURLToPath(new URL('../../../test/fixtures/order.proto', import.meta.url))
const cluster = useBroker()

test('protobuf payloads are decoded in the worker and can route by a field; an undecodable one reaches the dead-letter topic with code KVP_DECODE', async (t) => {
  const Order = protobuf.loadSync(protoFile).lookupType('shop.Order')
  const { topic, deadLetterTopic, groupId, record } = await deadLetterNames(cluster.bootstrapServers, 'orders')
  process.env.KVP_TEST_RECORD = record
  const producer = await createProducer(cluster.bootstrapServers)
  for (let i = 0; i < 20; i++) {
    const value = Buffer.from(Order.encode(Order.create({ id: `o-${i}`, customer: `c-${i % 3}`, amount: i })).finish())
    await producer.produce(topic, 0, value, `o-${i}`)
  }
  // Wire type 7 does not exist: this cannot be decoded as shop.Order.
  await producer.produce(topic, 0, Buffer.from([0xff, 0xff, 0xff, 0xff]), 'broken')
  await producer.close()

  const engine = await startEngine(
    engineOptions(cluster.bootstrapServers, groupId, {
      topic,
      handler: recordingHandler,
      payload: { protobuf: protoFile, type: 'shop.Order' },
      virtualPartitions: { partitioner: { protobuf: 'customer' }, lanes: 8, distribution: 'consistent' },
      retry: { maxAttempts: 5, backoffMs: 10 },
      deadLetter: { topic: deadLetterTopic },
    }),
  )
  t.after(() => engine.stop())
  await waitFor('21 messages done', () => engine.stats().totals.handled >= 21, 30_000)
  await engine.stop()
  const records = readRecords(record)
  assert.equal(records.length, 20, 'every valid order handled')
  assert.equal(new Set(records.filter((r) => r.key.endsWith('-0') || r.key === 'o-3').map((r) => r.lane)).size, 1, 'orders of one customer share a lane')
  assert.equal(engine.stats().totals.deadLettered, 1)
  assert.equal(engine.stats().totals.failures, 1, 'no retries for an undecodable payload')
  const [dead] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
  assert.equal(dead?.key, 'broken')
  assert.equal(dead?.headers[DeadLetterHeaders.errorCode], 'KVP_DECODE')
  assert.match(dead?.headers[DeadLetterHeaders.errorMessage] ?? '', /not valid protobuf shop\.Order/)
  assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 21)
})

test('a protobuf payload option that names a missing type fails at start, naming the field', async () => {
  await assert.rejects(
    startEngine({ brokers: cluster.bootstrapServers, groupId: uniqueName('g'), topics: [{ topic: 'x', handler: recordingHandler, payload: { protobuf: protoFile, type: 'shop.Nope' } }] }),
    (error: Error & { field?: string }) => error.field === 'topics[0].payload.type',
  )
})
