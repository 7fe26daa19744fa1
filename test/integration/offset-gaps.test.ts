/**
 * Offset gaps that only a real broker makes: transaction markers and aborted records, and
 * records removed by log compaction. The engine must handle exactly what a consumer can
 * see, and still commit up to the partition's end offset.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { startEngine } from '../../src/index.js'
import { createTopic, needsRealBroker, useBroker } from '../helpers/broker.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { payloadRecordingHandler, tempFile } from '../helpers/paths.js'
import { asHandled, readPayloadRecords } from '../helpers/payload-records.js'
import type { PayloadRecord } from '../helpers/payload-records.js'
import { orderViolations } from '../helpers/records.js'
import { readPartition } from '../helpers/read-topic.js'
import { produceTransactions } from '../helpers/transactions.js'
import type { PlannedTransaction } from '../helpers/transactions.js'
import { createProducer } from '../../src/kafka/delivery-producer.js'

const KEYS = ['k0', 'k1', 'k2']

/** Committed and aborted transactions interleaved, ending with an abort: the log ends in records no read_committed consumer sees, then a marker. */
function transactionPlan(): PlannedTransaction[] {
  const outcomes: Array<'commit' | 'abort'> = ['commit', 'abort', 'commit', 'commit', 'abort', 'abort', 'commit', 'abort']
  let n = 0
  return outcomes.map((outcome, t) => ({
    outcome,
    messages: Array.from({ length: 5 }, (_, i) => ({ key: KEYS[n++ % KEYS.length] as string, value: `${outcome}-${t}-${i}` })),
  }))
}

function duplicates(records: PayloadRecord[]): number[] {
  const seen = new Set<number>()
  const twice: number[] = []
  for (const record of records) {
    if (seen.has(record.offset)) twice.push(record.offset)
    seen.add(record.offset)
  }
  return twice
}

/** Runs an engine over one partition until it has handled `count` messages and the group's committed offset is `end`; then stops it. */
async function consumeAll(
  bootstrapServers: string,
  topic: string,
  count: number,
  end: number,
  kafka: Record<string, unknown> = {},
): Promise<{ records: PayloadRecord[]; committedWhileIdle: number; committedAfterStop: number }> {
  const groupId = uniqueName('g')
  const record = tempFile('handled.jsonl')
  process.env.KVP_TEST_RECORD = record
  const engine = await startEngine({
    brokers: bootstrapServers,
    groupId,
    topics: [{ topic, handler: payloadRecordingHandler, virtualPartitions: { lanes: 4 } }],
    threads: 1,
    kafka: { 'session.timeout.ms': 6000, ...kafka },
  })
  try {
    await waitFor(`${count} messages handled`, () => engine.stats().totals.handled >= count, 30_000)
    let committedWhileIdle = -1
    // Auto-commit runs every second; give it a few rounds to reach the end.
    await waitFor(
      `the committed offset to reach the end offset ${end}`,
      async () => {
        committedWhileIdle = (await committedOrZero(bootstrapServers, groupId, topic, 1))[0] as number
        return committedWhileIdle >= end
      },
      10_000,
      250,
    ).catch(() => {})
    await engine.stop()
    const committedAfterStop = (await committedOrZero(bootstrapServers, groupId, topic, 1))[0] as number
    return { records: readPayloadRecords(record), committedWhileIdle, committedAfterStop }
  } finally {
    await engine.stop()
    delete process.env.KVP_TEST_RECORD
  }
}

describe('offset gaps on Apache Kafka', { timeout: 150_000 }, () => {
  const cluster = useBroker()

  for (const isolation of ['read_committed', 'read_uncommitted'] as const) {
    const committedOnly = isolation === 'read_committed'
    const title = committedOnly
      ? 'transactions, read_committed (the default): every committed record is handled once in per-key order, no aborted record is handled, and the committed offset reaches the end offset across the markers and the aborted tail'
      : 'transactions, read_uncommitted: aborted records are handled too, markers are gaps, and the committed offset reaches the end offset'
    test(title, { ...needsRealBroker, timeout: 90_000 }, async () => {
      const topic = uniqueName('txn')
      await createTopic(cluster.bootstrapServers, topic, { partitions: 1 })
      const plan = transactionPlan()
      await produceTransactions(cluster.bootstrapServers, topic, 0, plan)
      const [end] = (await endOffsets(cluster.bootstrapServers, topic, 1)) as [number]
      const produced = plan.reduce((sum, t) => sum + t.messages.length, 0)
      assert.equal(end, produced + plan.length, 'one marker per transaction in the log')

      const visible = plan.filter((t) => !committedOnly || t.outcome === 'commit').flatMap((t) => t.messages.map((m) => m.value))
      const { records, committedWhileIdle, committedAfterStop } = await consumeAll(cluster.bootstrapServers, topic, visible.length, end, { 'isolation.level': isolation })

      assert.deepEqual(duplicates(records), [], 'no record handled twice')
      assert.deepEqual(records.map((r) => r.value).sort(), [...visible].sort(), committedOnly ? 'exactly the committed records handled' : 'every record handled, aborted ones included')
      if (committedOnly)
        assert.deepEqual(
          records.filter((r) => r.value?.startsWith('abort')),
          [],
          'no aborted record handled',
        )
      assert.deepEqual(orderViolations(asHandled(records)), [], 'per-key order')
      for (const key of KEYS) {
        const values = records
          .filter((r) => r.key === key)
          .sort((a, b) => a.offset - b.offset)
          .map((r) => r.value)
        const expected = plan
          .flatMap((t) => t.messages)
          .filter((m) => m.key === key && visible.includes(m.value))
          .map((m) => m.value)
        assert.deepEqual(values, expected, `key ${key}: its records in the order they were written`)
      }
      const offsets = records.map((r) => r.offset).sort((a, b) => a - b)
      assert.ok((offsets.at(-1) as number) + 1 < end, `the log ends in records this consumer does not see (last handled ${offsets.at(-1)}, end ${end})`)
      assert.ok(
        offsets.some((offset, i) => i > 0 && offset > (offsets[i - 1] as number) + 1),
        'the markers leave gaps between handled offsets',
      )
      assert.equal(committedWhileIdle, end, 'an idle engine commits up to the end offset')
      assert.equal(committedAfterStop, end, 'the committed offset after stop is the end offset')
    })
  }

  test("a compacted topic: exactly the surviving records are handled, each key's latest value in order, and the committed offset reaches the end offset across the removed ones", {
    ...needsRealBroker,
    timeout: 120_000,
  }, async (t) => {
    const topic = uniqueName('compacted')
    await createTopic(cluster.bootstrapServers, topic, {
      partitions: 1,
      config: { 'cleanup.policy': 'compact', 'segment.ms': '100', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0', 'delete.retention.ms': '100' },
    })
    const keys = 10
    const rounds = 20
    const producer = await createProducer(cluster.bootstrapServers)
    try {
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < keys; k++) await producer.produce(topic, 0, Buffer.from(`k${k}-v${round}`), `k${k}`)
        // Rewrites of a key a round later, some of them in later segments (segment.ms=100).
        if (round % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 120))
      }
      await new Promise((resolve) => setTimeout(resolve, 150))
      // A record past segment.ms rolls the segment, so the cleaner may clean everything before it.
      await producer.produce(topic, 0, Buffer.from('last'), 'roll')
    } finally {
      await producer.close()
    }
    const produced = keys * rounds + 1

    const startedAt = Date.now()
    let surviving: Kafka.Message[] = []
    await waitFor(
      'the cleaner to compact the topic',
      async () => {
        surviving = await readPartition(cluster.bootstrapServers, topic)
        return surviving.length <= keys + 1
      },
      60_000,
      500,
    )
    const compactionMs = Date.now() - startedAt
    t.diagnostic(`compacted to ${surviving.length} of ${produced} records ${compactionMs} ms after the last write`)
    const [end] = (await endOffsets(cluster.bootstrapServers, topic, 1)) as [number]
    assert.equal(end, produced, 'compaction keeps the end offset')
    assert.ok(surviving.length < produced, `compaction removed records (${surviving.length} of ${produced} left after ${compactionMs} ms)`)

    const { records, committedWhileIdle, committedAfterStop } = await consumeAll(cluster.bootstrapServers, topic, surviving.length, end)
    assert.deepEqual(duplicates(records), [], 'no record handled twice')
    assert.deepEqual(
      records.map((r) => r.offset).sort((a, b) => a - b),
      surviving.map((m) => m.offset),
      'exactly the surviving offsets handled',
    )
    assert.deepEqual(
      records
        .filter((r) => r.key !== 'roll')
        .map((r) => [r.key, r.value])
        .sort(),
      Array.from({ length: keys }, (_, k) => [`k${k}`, `k${k}-v${rounds - 1}`]).sort(),
      "each key's latest value survives and is handled",
    )
    assert.deepEqual(orderViolations(asHandled(records)), [], 'per-key order')
    assert.equal(committedWhileIdle, end, 'an idle engine commits up to the end offset')
    assert.equal(committedAfterStop, end, 'the committed offset after stop is the end offset')
  })
})
