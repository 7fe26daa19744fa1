/**
 * Exactly-once across a broker restart: the broker stops mid-stream and starts again on
 * the same data folder and port. This file owns its broker (the run's shared one must not
 * go away under other files), so it needs Apache Kafka.
 */
import { strict as assert } from 'node:assert'
import { after, describe, test } from 'node:test'
import { channels, startEngine } from '../../src/index.js'
import type { Engine, TransactionEvent } from '../../src/index.js'
import type { ApacheKafka } from '../../tools/apache-kafka/broker.js'
import { needsRealBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs, OffsetWatch, uncommittedOnly } from '../helpers/exactly-once.js'
import { openOffsetReader } from '../helpers/group.js'
import type { OffsetReader } from '../helpers/group.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler } from '../helpers/paths.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'

let kafka: ApacheKafka | undefined
let engine: Engine | undefined
let reader: OffsetReader | undefined
after(async () => {
  await engine?.stop().catch(() => {})
  await reader?.close().catch(() => {})
  await kafka?.stop()
})

const commitCount = (outcomes: TransactionEvent[]): number => outcomes.filter((event) => event.outcome === 'commit').length

/** The group's committed offsets, read as soon as the broker answers (undefined after 30 s without). */
async function readCommitted(offsets: OffsetReader): Promise<number[] | undefined> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      return await offsets.read()
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return undefined
}

describe('exactly-once across a broker restart', { timeout: 170_000, ...needsRealBroker }, () => {
  test('the broker stops mid-stream for 4 s and starts again: a read_committed reader sees each input’s output exactly once, in per-key order, and the committed offsets reach the end', {
    timeout: 160_000,
  }, async (t) => {
    const { startApacheKafka } = await import('../../tools/apache-kafka/broker.js')
    kafka = await startApacheKafka({ autoCreateTopics: false })
    const bootstrap = kafka.bootstrapServers
    const input = uniqueName('orders')
    const output = uniqueName('orders-enriched')
    const groupId = uniqueName('group')
    const count = 12_000
    await ensureTopic(bootstrap, output)
    await produceMessages({ bootstrapServers: bootstrap, topic: input, count, keys: 300, size: 20 })
    const ends = await endOffsets(bootstrap, input)
    process.env.KVP_TEST_OUTPUT = output
    process.env.KVP_TEST_DELAY_MS = '10'
    // The broker's committed offsets, read as each abort is published (the engine rewound to
    // what it read from the coordinator just before; the next commit is an interval away).
    reader = await openOffsetReader(bootstrap, groupId, input)
    const outcomes: TransactionEvent[] = []
    const aborts: Array<{ event: TransactionEvent & { outcome: 'abort' }; committed: Promise<number[] | undefined>; commitsBefore: number; commitsAfter: number }> = []
    const record = (event: unknown): void => {
      const outcome = event as TransactionEvent
      outcomes.push(outcome)
      if (outcome.outcome !== 'abort') return
      const entry = { event: outcome, committed: readCommitted(reader as OffsetReader), commitsBefore: commitCount(outcomes), commitsAfter: -1 }
      entry.committed.then(() => {
        entry.commitsAfter = commitCount(outcomes)
      })
      aborts.push(entry)
    }
    channels.transaction.subscribe(record)
    const t0 = Date.now()
    const trace =
      (name: string) =>
      (event: unknown): void => {
        if (process.env.KVP_TEST_VERBOSE) process.stderr.write(`TRACE ${Date.now() - t0} ${name} ${JSON.stringify(event, (k, v) => (k === 'cause' || k === 'error' ? String(v) : v)).slice(0, 400)}\n`)
      }
    const traced = { rebalance: trace('rebalance'), kafkaError: trace('kafka-error'), transaction: trace('txn'), commitError: trace('commit-error'), handlerError: trace('handler-error') }
    for (const [name, fn] of Object.entries(traced)) channels[name as keyof typeof traced].subscribe(fn as never)
    // The broker goes away while a transaction has records in the log: that one cannot commit.
    // Polled by clients that stay connected (opened before the stream starts), so the halt
    // follows the sighting within milliseconds even on a loaded machine.
    const watch = await OffsetWatch.open(bootstrap, output)
    try {
      engine = await startEngine({
        brokers: bootstrap,
        groupId,
        topics: [{ topic: input, handler: producingHandler, virtualPartitions: { lanes: 8 } }],
        threads: 2,
        backpressure: { maxInFlightPerPartition: 100 },
        exactlyOnce: true,
        transactionIntervalMs: 200,
        kafka: { 'session.timeout.ms': 10_000 },
      })
      try {
        // Some transactions commit before the halt (their events arrive as they happen).
        await waitFor('a committed transaction', () => outcomes.some((event) => event.outcome === 'commit'), 60_000, 5)
        // A transaction seen open and still open a moment later is mid-way, not ending: halting
        // now leaves its records in the log and its commit undone (one already ending may still commit).
        await waitFor(
          'records of a transaction that stays open',
          async () => {
            const before = await watch.stableAndEnd()
            if (!before.some(({ stable, end }) => stable < end)) return false
            await new Promise((resolve) => setTimeout(resolve, 30))
            const after = await watch.stableAndEnd()
            return before.some(({ stable, end }, p) => stable < end && (after[p]?.stable ?? end) < end)
          },
          60_000,
          5,
        )
        trace('halt')({})
        await kafka.halt()
      } finally {
        await watch.close()
      }
      await new Promise((resolve) => setTimeout(resolve, 4000))
      await kafka.restart()
      trace('restarted')({})
      await waitFor('the committed offsets reach the end', async () => (await committedOrZero(bootstrap, groupId, input)).every((offset, p) => offset >= (ends[p] as number)), 120_000, 250)
      await engine.stop()
      engine = undefined
    } finally {
      channels.transaction.unsubscribe(record)
      delete process.env.KVP_TEST_DELAY_MS
    }
    assert.ok(
      outcomes.some((event) => event.outcome === 'commit'),
      'transactions committed',
    )
    // A transaction aborted, and rewound its partitions to the group's committed offsets.
    assert.ok(
      aborts.some(({ event }) => event.rewound.length > 0),
      `a transaction aborted and rewound partitions (outcomes: ${outcomes.map((event) => event.outcome).join(' ')})`,
    )
    let compared = 0
    for (const { event, committed, commitsBefore, commitsAfter } of aborts) {
      const onBroker = await committed
      // A commit that landed before the read moved the offsets on: nothing to compare.
      if (onBroker === undefined || commitsAfter !== commitsBefore) continue
      for (const { partition, offset } of event.rewound) {
        assert.equal(offset, onBroker[partition], `partition ${partition} rewound to the committed offset (${event.reason}: ${String(event.error)})`)
        compared++
      }
    }
    assert.ok(compared > 0, 'the rewound offsets were compared with the broker’s committed offsets')
    t.diagnostic(`${outcomes.length} transactions: ${aborts.length} aborted (${aborts.map(({ event }) => event.reason).join(', ')}), ${compared} rewound partitions checked`)
    // Records of aborted transactions stay in the log: read_uncommitted sees them, read_committed
    // does not (assertExactlyOnce below reads only what read_committed sees). The transaction open
    // at the halt may still commit once the broker is back (the coordinator kept it open), so an
    // abort here need not have records; the SIGKILL test (./exactly-once-crash.test.ts) always
    // leaves an open transaction's records in the log and checks they stay hidden.
    let aborted = 0
    for (let p = 0; p < 4; p++) aborted += (await uncommittedOnly(bootstrap, output, p)).length
    t.diagnostic(`${aborted} records of aborted transactions in the log, hidden from read_committed`)
    if (process.env.KVP_TEST_VERBOSE)
      for (const event of outcomes) process.stderr.write(`${JSON.stringify(event, (k, v) => (k === 'cause' ? String(v) : v))} ${(event as { error?: Error }).error?.message}\n`)
    assertExactlyOnce(await committedOutputs(bootstrap, output), ends)
  })
})
