import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { startEngine } from '../../src/index.js'
import type { Distribution } from '../../src/config/options.js'
import { produceMessages } from '../helpers/produce.js'
import { allMessages, committedOffsets, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'
import { useBroker } from '../helpers/broker.js'

const cluster = useBroker()

async function run(options: { count: number; keys: number; lanes: number; distribution: Distribution; delayMs: number; partition?: number }) {
  const topic = uniqueName('orders')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  process.env.KVP_TEST_DELAY_MS = String(options.delayMs)
  delete process.env.KVP_TEST_FAIL
  await produceMessages({
    bootstrapServers: cluster.bootstrapServers,
    topic,
    count: options.count,
    keys: options.keys,
    size: 40,
    ...(options.partition === undefined ? {} : { partition: options.partition }),
  })
  const engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId,
    topics: [{ topic, handler: recordingHandler, virtualPartitions: { maxPartitions: options.lanes, distribution: options.distribution } }],
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
})
