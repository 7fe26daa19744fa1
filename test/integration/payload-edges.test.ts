/**
 * Payloads at the edges: values of 1 MiB, which pass through the consumer, the record
 * columns of a slice and the worker byte for byte; and tombstones (a null value), which
 * reach the handler as null under every payload codec and get a null virtual key.
 */
import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { Kafka as KafkaJs, logLevel } from 'kafkajs'
import protobuf from 'protobufjs'
import { DeadLetterHeaders, startEngine } from '../../src/index.js'
import type { Engine, TopicRoute } from '../../src/index.js'
import { createProducer } from '../../src/kafka/delivery-producer.js'
import { loadProtobufType, protobufToObject } from '../../src/codec/payload-codec.js'
import { createKeyExtractor } from '../../src/partitioning/partitioner.js'
import { useBroker } from '../helpers/broker.js'
import { engineOptions } from '../helpers/engine-run.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { payloadRecordingHandler, tempFile } from '../helpers/paths.js'
import { asHandled, readPayloadRecords } from '../helpers/payload-records.js'
import type { PayloadRecord } from '../helpers/payload-records.js'
import { ensureTopic } from '../helpers/produce.js'
import { random } from '../helpers/random.js'
import { orderViolations } from '../helpers/records.js'
import { readRawTopic, readTopic } from '../helpers/read-topic.js'

const MiB = 1024 * 1024
const protoFile = fileURLToPath(new URL('../../../test/fixtures/order.proto', import.meta.url))

function randomBytes(length: number, seed: number): Buffer {
  const next = random(seed)
  const out = Buffer.alloc(Math.ceil(length / 4) * 4)
  for (let i = 0; i < out.length; i += 4) out.writeUInt32LE(Math.floor(next() * 2 ** 32), i)
  return out.subarray(0, length)
}

const sha256 = (value: Buffer): string => createHash('sha256').update(value).digest('hex')
const id = (partition: number, offset: number): string => `${partition}:${offset}`

describe('payload edges', { timeout: 180_000 }, () => {
  const cluster = useBroker()

  /**
   * Runs an engine (a fresh group, `options` over the tests' defaults) over `route` until it
   * has handled `count` messages, then stops it; resolves with what the payload-recording
   * handler wrote.
   */
  async function recordPayloads(
    t: TestContext,
    route: TopicRoute,
    options: Record<string, unknown>,
    count: number,
    timeoutMs: number,
  ): Promise<{ engine: Engine; groupId: string; records: PayloadRecord[] }> {
    const groupId = uniqueName('g')
    const record = tempFile('handled.jsonl')
    process.env.KVP_TEST_RECORD = record
    t.after(() => {
      delete process.env.KVP_TEST_RECORD
    })
    const engine = await startEngine(engineOptions(cluster.bootstrapServers, groupId, route, options))
    t.after(() => engine.stop())
    await waitFor(`${count} messages handled`, () => engine.stats().totals.handled >= count, timeoutMs)
    await engine.stop()
    return { engine, groupId, records: readPayloadRecords(record) }
  }

  test('1 MiB values among small ones are each handled once, byte for byte (length and sha256), in per-key order, and committed to the end', { timeout: 120_000 }, async (t) => {
    const topic = uniqueName('large')
    // Apache Kafka refuses a batch above max.message.bytes (1 MiB + 12 by default); the
    // embedded cluster has no such limit but keeps only ~5 MiB per partition, so the
    // large values are spread over the 4 partitions: 4 of 1 MiB each there, 5 on Kafka.
    await ensureTopic(cluster.bootstrapServers, topic, cluster.kind === 'kafka' ? { config: { 'max.message.bytes': String(2 * MiB) } } : {})
    const large = cluster.kind === 'kafka' ? 20 : 16
    const small = 40
    const producer = await createProducer(cluster.bootstrapServers, { 'message.max.bytes': 2 * MiB + 1024, 'linger.ms': 5 })
    const expected = new Map<string, { length: number; sha256: string; key: string }>()
    try {
      const deliveries = []
      let seed = 1
      for (let i = 0; i < large + small; i++) {
        // Every third message large, spread over the partitions: large and small ones share lanes.
        const isLarge = i % 3 === 0 && i / 3 < large
        const value = isLarge ? randomBytes(MiB, seed++) : randomBytes(1 + (i % 200), seed++)
        const partition = i % 4
        const key = `key-${i % 8}`
        deliveries.push(
          producer.produce(topic, partition, value, key).then((report) => {
            expected.set(id(report.partition, report.offset as number), { length: value.length, sha256: sha256(value), key })
          }),
        )
      }
      await Promise.all(deliveries)
    } finally {
      await producer.close()
    }
    const count = expected.size
    assert.equal([...expected.values()].filter((e) => e.length === MiB).length, large)
    const ends = await endOffsets(cluster.bootstrapServers, topic)
    assert.equal(
      ends.reduce((a, b) => a + b, 0),
      count,
      'the topic holds every message produced',
    )

    const { groupId, records } = await recordPayloads(t, { topic, handler: payloadRecordingHandler, virtualPartitions: { lanes: 4 } }, { threads: 2 }, count, 60_000)

    assert.equal(records.length, count, 'each message handled once')
    const byId = new Map(records.map((r) => [id(r.partition, r.offset), r]))
    assert.equal(byId.size, count, 'no message handled twice')
    for (const [where, want] of expected) {
      const got = byId.get(where)
      assert.ok(got, `message ${where} handled`)
      assert.equal(got.valueIsBuffer, true, `message ${where}: the value is a Buffer`)
      assert.equal(got.valueLength, want.length, `message ${where}: the value's length`)
      assert.equal(got.sha256, want.sha256, `message ${where}: the value's bytes (sha256)`)
      assert.equal(got.key, want.key, `message ${where}: the key`)
      assert.deepEqual(got.payload, { bytes: want.length }, `message ${where}: the raw payload is the value`)
    }
    assert.deepEqual(orderViolations(asHandled(records)), [], 'per-key order')
    assert.deepEqual(await committedOrZero(cluster.bootstrapServers, groupId, topic), ends, 'committed up to the end of every partition')
  })

  const codecs: Array<{ name: string; route: Partial<TopicRoute>; encode: (i: number) => Buffer; field: string }> = [
    {
      name: 'json',
      route: { payload: 'json', virtualPartitions: { partitioner: { json: 'customer' }, lanes: 8, distribution: 'consistent' } },
      encode: (i) => Buffer.from(JSON.stringify({ id: `o-${i}`, customer: `c-${i % 3}`, amount: i })),
      field: 'customer',
    },
    {
      name: 'protobuf',
      route: { payload: { protobuf: protoFile, type: 'shop.Order' }, virtualPartitions: { partitioner: { protobuf: 'customer' }, lanes: 8, distribution: 'consistent' } },
      encode: (i) => {
        const Order = protobuf.loadSync(protoFile).lookupType('shop.Order')
        return Buffer.from(Order.encode(Order.create({ id: `o-${i}`, customer: `c-${i % 3}`, amount: i })).finish())
      },
      field: 'customer',
    },
  ]

  for (const codec of codecs) {
    test(`tombstones with the ${codec.name} codec reach the handler with value and payload null (no decode error, no dead letter), get a null virtual key (lane 0), and are committed; an empty value is not a tombstone`, {
      timeout: 60_000,
    }, async (t) => {
      const topic = uniqueName(`tombstones-${codec.name}`)
      const deadLetterTopic = uniqueName('dlq')
      await ensureTopic(cluster.bootstrapServers, topic)
      await ensureTopic(cluster.bootstrapServers, deadLetterTopic)
      const producer = await createProducer(cluster.bootstrapServers)
      const tombstones = new Set<number>()
      try {
        for (let i = 0; i < 30; i++) {
          const tombstone = i % 4 === 1
          const report = await producer.produce(topic, 0, tombstone ? null : codec.encode(i), `o-${i % 10}`)
          if (tombstone) tombstones.add(report.offset as number)
        }
      } finally {
        await producer.close()
      }
      // An empty value is not a tombstone: it is bytes, and the codec decides. KafkaJS
      // writes it: node-rdkafka 3.6.1's producer sends an empty Buffer as a null value.
      const kafkajs = new KafkaJs({ clientId: uniqueName('kafkajs'), brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING }).producer({ allowAutoTopicCreation: false })
      await kafkajs.connect()
      try {
        await kafkajs.send({ topic, messages: [{ partition: 0, key: 'empty', value: Buffer.alloc(0) }] })
      } finally {
        await kafkajs.disconnect()
      }
      const [end] = (await endOffsets(cluster.bootstrapServers, topic)) as [number]

      // What node-rdkafka delivers for a tombstone, and the virtual key the route's partitioner gives it.
      const raw = await readRawTopic(cluster.bootstrapServers, topic, end)
      assert.equal(raw.length, end)
      const context =
        typeof codec.route.payload === 'object'
          ? {
              decodeProtobuf: (() => {
                const type = loadProtobufType(protoFile, 'shop.Order')
                return (value: Buffer) => protobufToObject(type, value)
              })(),
            }
          : {}
      const virtualKey = createKeyExtractor(
        codec.route.virtualPartitions && codec.route.virtualPartitions.partitioner !== undefined ? codec.route.virtualPartitions.partitioner : 'key',
        'partitioner',
        context,
      )
      for (const message of raw) {
        if (message.key?.toString() === 'empty') {
          assert.ok(Buffer.isBuffer(message.value) && message.value.length === 0, 'node-rdkafka delivers an empty value as an empty Buffer')
          continue
        }
        if (!tombstones.has(message.offset)) {
          assert.equal(virtualKey(message as never), `c-${message.offset % 3}`, `offset ${message.offset}: the ${codec.field} field is the virtual key`)
          continue
        }
        assert.equal(message.value, null, `offset ${message.offset}: node-rdkafka delivers a tombstone's value as null, not an empty Buffer`)
        assert.equal(virtualKey(message as never), null, `offset ${message.offset}: a tombstone's virtual key is null`)
      }

      const { engine, groupId, records } = await recordPayloads(
        t,
        { topic, handler: payloadRecordingHandler, ...codec.route, retry: { maxAttempts: 3, backoffMs: 10 }, deadLetter: { topic: deadLetterTopic } },
        { threads: 1 },
        end,
        30_000,
      )

      const empty = records.find((r) => r.key === 'empty')
      if (codec.name === 'json') {
        assert.equal(empty, undefined, 'an empty value is not JSON: not handled')
        assert.equal(engine.stats().totals.failures, 1, "one failure, the empty value's decode error, not retried")
        assert.equal(engine.stats().totals.deadLettered, 1, 'only the empty value dead-lettered')
        const [deadLetter] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
        assert.equal(deadLetter?.key, 'empty')
        assert.equal(deadLetter?.headers[DeadLetterHeaders.errorCode], 'KVP_DECODE')
      } else {
        assert.deepEqual(empty?.payload, { id: '', customer: '', amount: '0' }, 'an empty value is a protobuf message with default fields')
        assert.equal(engine.stats().totals.failures, 0, 'no decode error, no failure')
        assert.equal(engine.stats().totals.deadLettered, 0, 'nothing dead-lettered')
      }
      assert.equal(records.filter((r) => r.key !== 'empty').length, end - 1, 'every other message handled once')
      const dead: PayloadRecord[] = records.filter((r) => tombstones.has(r.offset))
      assert.equal(dead.length, tombstones.size, 'every tombstone handled')
      for (const r of dead) {
        assert.equal(r.value, null, `offset ${r.offset}: value null`)
        assert.equal(r.payload, null, `offset ${r.offset}: payload null`)
        assert.equal(r.lane, 0, `offset ${r.offset}: a null virtual key runs in lane 0`)
        assert.equal(r.attempt, 1, `offset ${r.offset}: handled on its first attempt`)
        assert.equal(r.key, `o-${r.offset % 10}`, `offset ${r.offset}: the Kafka key is kept`)
      }
      for (const r of records.filter((r) => !tombstones.has(r.offset) && r.key !== 'empty')) {
        assert.equal((r.payload as { customer?: unknown } | null)?.customer, `c-${r.offset % 3}`, `offset ${r.offset}: decoded payload`)
      }
      assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], end, 'committed to the end')
    })
  }
})
