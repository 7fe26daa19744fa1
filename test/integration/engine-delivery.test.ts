import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { startEngine } from '../../src/index.js'
import type { Distribution } from '../../src/config/options.js'
import { createProducer } from '../../src/kafka/delivery-producer.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { allMessages, committedOffsets, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'
import type { NullKeyOrder } from '../helpers/records.js'
import { useBroker } from '../helpers/broker.js'

const cluster = useBroker()

/** Writes `count` messages to partition 0, every `nullEvery`-th with a null key, the others keyed `key-<i % keys>`. */
async function produceWithNullKeys(topic: string, count: number, keys: number, nullEvery: number): Promise<void> {
  await ensureTopic(cluster.bootstrapServers, topic)
  const producer = await createProducer(cluster.bootstrapServers)
  try {
    const deliveries = []
    for (let i = 0; i < count; i++) deliveries.push(producer.produce(topic, 0, Buffer.alloc(40, i % 256), i % nullEvery === 0 ? null : `key-${i % keys}`))
    await Promise.all(deliveries)
  } finally {
    await producer.close()
  }
}

async function run(options: { count: number; keys: number; lanes: number; distribution: Distribution; delayMs: number; partition?: number; nullEvery?: number }) {
  const topic = uniqueName('orders')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  process.env.KVP_TEST_DELAY_MS = String(options.delayMs)
  delete process.env.KVP_TEST_FAIL
  if (options.nullEvery === undefined) {
    await produceMessages({
      bootstrapServers: cluster.bootstrapServers,
      topic,
      count: options.count,
      keys: options.keys,
      size: 40,
      ...(options.partition === undefined ? {} : { partition: options.partition }),
    })
  } else {
    await produceWithNullKeys(topic, options.count, options.keys, options.nullEvery)
  }
  const engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId,
    topics: [{ topic, handler: recordingHandler, virtualPartitions: { lanes: options.lanes, distribution: options.distribution } }],
    threads: 2,
    kafka: { 'session.timeout.ms': 6000 },
  })
  try {
    await waitFor(`${options.count} handled`, () => engine.stats().totals.handled >= options.count, 60_000)
  } finally {
    await engine.stop()
  }
  return { topic, groupId, record, engine }
}

describe('engine delivery on the embedded cluster', () => {
  test('every produced message is handled exactly once when nothing fails, and the committed offset equals the end after stop', async () => {
    const { topic, groupId, record, engine } = await run({ count: 6000, keys: 500, lanes: 16, distribution: 'consistent', delayMs: 0 })
    const ends = await endOffsets(cluster.bootstrapServers, topic)
    assert.equal(
      ends.reduce((a, b) => a + b, 0),
      6000,
    )
    const { missing, duplicates } = coverage(readRecords(record), allMessages(ends))
    assert.deepEqual(missing, [], 'every message handled')
    assert.deepEqual(duplicates, [], 'no message handled twice')
    assert.deepEqual(await committedOffsets(cluster.bootstrapServers, groupId, topic), ends, 'committed offset equals the end offset of every partition')
    assert.equal(engine.stats().totals.handled, 6000)
  })

  for (const distribution of ['consistent', 'balanced', 'sticky'] as const) {
    test(`messages with the same key are handled in offset order, one at a time (${distribution}, many keys, many lanes)`, async () => {
      const { topic, record } = await run({ count: 4000, keys: 300, lanes: 64, distribution, delayMs: 1, partition: 0 })
      const records = readRecords(record)
      const ends = await endOffsets(cluster.bootstrapServers, topic)
      assert.deepEqual(coverage(records, allMessages(ends)).missing, [])
      assert.deepEqual(orderViolations(records), [])
      const lanes = new Set(records.map((r) => r.lane))
      assert.ok(lanes.size > 16, `work spread over many lanes (${lanes.size})`)
    })
  }

  // The documented null-key choice per distribution (docs/guarantees.md, "Distributions"): one key for
  // sticky, lane 0 for consistent (both in offset order), each its own group for balanced.
  const nullKeys: Record<Distribution, NullKeyOrder> = { sticky: 'one key', consistent: 'one key', balanced: 'unordered' }
  for (const distribution of ['sticky', 'consistent', 'balanced'] as const) {
    const promise = nullKeys[distribution] === 'one key' ? 'in offset order, one at a time' : 'spread over the lanes with no order between them'
    test(`messages with a null key are handled ${promise}, among keyed ones in per-key order (${distribution})`, async () => {
      const { topic, record } = await run({ count: 1500, keys: 50, lanes: 16, distribution, delayMs: 1, nullEvery: 3 })
      const records = readRecords(record)
      assert.deepEqual(coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic))).missing, [])
      const nulls = records.filter((r) => r.key === '')
      assert.equal(nulls.length, 500, 'every null-keyed message was handled once')
      assert.deepEqual(orderViolations(records, nullKeys[distribution]), [])
      const nullLanes = new Set(nulls.map((r) => r.lane))
      if (distribution === 'consistent') assert.deepEqual([...nullLanes], [0], 'null keys all run in lane 0')
      if (distribution === 'balanced') assert.ok(nullLanes.size > 1, `null keys spread over the lanes (${nullLanes.size})`)
    })
  }
})
