import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { channels, DeadLetterHeaders } from '../../src/index.js'
import type { Engine, HandlerErrorEvent, TopicRoute } from '../../src/index.js'
import { hashKey } from '../../src/partitioning/hash.js'
import { useBroker } from '../helpers/broker.js'
import { handlerEnv, listen, runScenario, startScenario, unhandledMessages } from '../helpers/engine-run.js'
import { eventLogEnv, readEvents } from '../helpers/group.js'
import { allMessages, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { crashingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, runArgs, startKvp } from '../helpers/process.js'
import { produceMessages } from '../helpers/produce.js'
import { readTopic } from '../helpers/read-topic.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'
import type { HandledRecord } from '../helpers/records.js'

const engines: Engine[] = []
after(async () => {
  for (const engine of engines) await engine.stop()
})
const cluster = useBroker()

/** A handler failure as the kvp:handler-error channel (or a child's event log) reported it. */
interface Failure {
  offset: number
  attempt: number
  willRetry: boolean
  code: unknown
}

/**
 * A worker thread died under the message at `culprit`: each failure it caused was
 * reported with `code` and retried, each message it lost was handled on a later attempt,
 * and per-key order holds over every attempt of every message.
 */
function assertRetriedInOrder(failures: Failure[], records: HandledRecord[], culprit: number, code: string): void {
  assert.ok(
    failures.some((f) => f.offset === culprit),
    `a failure was reported at offset ${culprit}`,
  )
  for (const failure of failures) {
    assert.equal(failure.code, code, `the failure of offset ${failure.offset} on attempt ${failure.attempt}`)
    assert.equal(failure.willRetry, true, `offset ${failure.offset} is retried`)
    assert.ok(
      records.some((r) => r.offset === failure.offset && r.attempt > failure.attempt),
      `offset ${failure.offset}, lost on attempt ${failure.attempt}, was handled on a later attempt`,
    )
  }
  assert.deepEqual(orderViolations(records), [], 'per-key order over every attempt of every message')
}

/**
 * 400 messages of partition 0 through `route`, with `env` making a worker thread die under
 * offset 33 on its first attempt: every message is handled, offset 33 on its second attempt,
 * every failure is KVP_WORKER_CRASH and retried in per-key order (assertRetriedInOrder), and
 * the committed offset reaches the end. Resolves with the failures published on
 * kvp:handler-error for the topic.
 */
async function runThroughCrash(t: TestContext, env: Record<string, string>, route: Partial<TopicRoute>): Promise<HandlerErrorEvent[]> {
  const errors = listen(channels.handlerError)
  const { topic, groupId, records } = await runScenario(
    t,
    {
      bootstrapServers: cluster.bootstrapServers,
      count: 400,
      partition: 0,
      env: { ...env, KVP_TEST_DELAY_MS: '1' },
      route: { virtualPartitions: { lanes: 16 }, retry: { backoffMs: 20 }, ...route },
    },
    30_000,
  )
  errors.stop()
  assert.deepEqual(await unhandledMessages(cluster.bootstrapServers, topic, records), [])
  assert.equal(records.find((r) => r.offset === 33)?.attempt, 2)
  const failures = errors.events.filter((e) => e.topic === topic)
  assertRetriedInOrder(
    failures.map((e) => ({ ...e, code: e.error.code })),
    records,
    33,
    'KVP_WORKER_CRASH',
  )
  assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 400)
  return failures
}

describe('failures and bad input', () => {
  test('a poison message goes to the dead-letter topic after N attempts with its headers, every other message is handled, and the committed offset reaches the end', async (t) => {
    const deadLetterTopic = uniqueName('dlq')
    const { engine, topic, groupId, records } = await runScenario(t, {
      bootstrapServers: cluster.bootstrapServers,
      count: 500,
      partition: 0,
      env: { KVP_TEST_FAIL: '42:1000' },
      route: { virtualPartitions: { lanes: 8 }, retry: { maxAttempts: 3, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
    })
    const ends = await endOffsets(cluster.bootstrapServers, topic)
    const { missing } = coverage(records, allMessages(ends))
    assert.deepEqual(missing, ['0:42'], 'only the poison message was never handled')
    assert.equal(engine.stats().totals.deadLettered, 1)
    assert.equal(engine.stats().totals.failures, 3)
    assert.deepEqual(await committedOrZero(cluster.bootstrapServers, groupId, topic), ends)

    const [dead] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
    assert.ok(dead, 'the poison message reached the dead-letter topic')
    assert.equal(dead.key, 'key-42', 'with its original key')
    assert.equal(dead.value?.length, 40, 'and value')
    assert.equal(dead.headers[DeadLetterHeaders.topic], topic)
    assert.equal(dead.headers[DeadLetterHeaders.partition], '0')
    assert.equal(dead.headers[DeadLetterHeaders.offset], '42')
    assert.equal(dead.headers[DeadLetterHeaders.attempts], '3')
    assert.equal(dead.headers[DeadLetterHeaders.errorCode], 'KVP_HANDLER')
    assert.match(dead.headers[DeadLetterHeaders.errorMessage] ?? '', /planned failure at offset 42/)
  })

  test('a dead-letter topic that cannot be written holds the offset (nothing skipped)', async () => {
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 300,
      partition: 0,
      size: 2000,
      env: { KVP_TEST_FAIL: '42:1000' },
      // The dead-letter producer refuses messages this large: every write to it fails.
      route: { virtualPartitions: { lanes: 8 }, retry: { maxAttempts: 2, backoffMs: 20, maxBackoffMs: 100 }, deadLetter: { topic: uniqueName('dlq'), kafka: { 'message.max.bytes': 1000 } } },
    })
    engines.push(engine)
    const errors = listen(channels.handlerError, topic)
    // Done waiting once every message is either done or still held, and the write of the
    // dead letter failed and was retried three times since: the offset is held across retries.
    await waitFor(
      'every message fetched, and the dead-letter write of offset 42 failed 3 times',
      () => {
        const { totals } = engine.stats()
        return totals.handled + totals.inFlight === 300 && errors.events.filter((e) => e.offset === 42 && e.error.code === 'KVP_DEAD_LETTER').length >= 3
      },
      30_000,
    )
    errors.stop()
    const stats = engine.stats()
    assert.equal(stats.totals.deadLettered, 0)
    assert.ok(stats.totals.handled < 300, 'the poison message and its lane behind it are not done')
    const partition = stats.partitions.find((p) => p.partition === 0)
    assert.equal(partition?.watermark, 42, 'the watermark stays at the poison message')
    await engine.stop()
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 42, 'the committed offset stays at the poison message')
    const records = readRecords(record)
    assert.ok(
      records.some((r) => r.offset > 42),
      'other lanes went on',
    )
    assert.deepEqual(coverage(readRecords(record), [{ partition: 0, offset: 42 }]).missing, ['0:42'])
  })

  test('a handler that blocks its thread past handlerTimeoutMs is aborted and retried; the engine stays up', async (t) => {
    const { topic, groupId, records } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 300,
        partition: 0,
        env: { KVP_TEST_HANG: '17:1' },
        route: { virtualPartitions: { lanes: 8 }, handlerTimeoutMs: 300, retry: { backoffMs: 20 } },
      },
      30_000,
    )
    const hung = records.find((r) => r.offset === 17)
    assert.equal(hung?.attempt, 2, 'the hung message succeeded on its second attempt')
    assert.deepEqual(await unhandledMessages(cluster.bootstrapServers, topic, records), [])
    assert.deepEqual(orderViolations(records.filter((r) => r.attempt === 1 || r.offset === 17)), [])
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 300)
  })

  test('a handler that never settles past handlerTimeoutMs fails with KVP_TIMEOUT and is retried', async (t) => {
    const deadLetterTopic = uniqueName('dlq')
    const { records } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 200,
        partition: 0,
        env: { KVP_TEST_STALL: '5:1,6:1000' },
        route: { virtualPartitions: false, handlerTimeoutMs: 200, retry: { maxAttempts: 2, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
      },
      30_000,
    )
    assert.equal(records.find((r) => r.offset === 5)?.attempt, 2, 'retried once, then handled')
    assert.equal(
      records.find((r) => r.offset === 6),
      undefined,
      'the one that always stalls was dead-lettered',
    )
    const [dead] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
    assert.equal(dead?.headers[DeadLetterHeaders.errorCode], 'KVP_TIMEOUT')
  })

  test('a handler that calls process.exit() in its worker: every slice the thread held fails with KVP_WORKER_CRASH and is retried, nothing is lost, and per-key order holds over every attempt', async (t) => {
    await runThroughCrash(t, { KVP_TEST_EXIT: '33:1' }, {})
  })

  test('an uncaught error thrown in a timer inside a handler kills its worker thread: KVP_WORKER_CRASH, every lost message retried in per-key order, nothing lost', async (t) => {
    const failures = await runThroughCrash(t, { KVP_TEST_TIMER_THROW: '33:1' }, { handler: crashingHandler })
    assert.match(failures.find((e) => e.offset === 33)?.error.message ?? '', /worker thread died while running the slice: planned uncaught error in a timer at offset 33/)
  })

  // A worker thread's heap limit is V8's for the whole process (kvp has no per-thread
  // resourceLimits option), so the engine runs in a `kvp run` child with a small one.
  test('a handler that runs its worker thread out of heap: the thread dies (KVP_WORKER_CRASH), the process lives on, every lost message is retried in per-key order, nothing lost', async (t) => {
    const topic = uniqueName('t')
    const groupId = uniqueName('g')
    const record = tempFile('handled.tsv')
    const events = tempFile('events.jsonl')
    const count = 300
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count, keys: 100, size: 40, partition: 0 })
    const logged = eventLogEnv(events)
    const env = handlerEnv({ ...logged, NODE_OPTIONS: `${logged.NODE_OPTIONS} --max-old-space-size=128`, KVP_TEST_RECORD: record, KVP_TEST_OOM: '33:1', KVP_TEST_DELAY_MS: '1' })
    const args = runArgs({
      brokers: cluster.bootstrapServers,
      group: groupId,
      topic,
      handler: crashingHandler,
      flags: ['--lanes', '16', '--stats-interval-ms', '0'],
      kafka: ['session.timeout.ms=6000'],
    })
    const proc = await startKvp(args, env)
    t.after(() => ensureDead(proc))
    await waitFor(`all ${count} messages handled`, () => new Set(readRecords(record).map((r) => r.offset)).size === count, 60_000, 100)
    proc.child.kill('SIGTERM')
    assert.equal(await proc.exited, 0, proc.output())
    const records = readRecords(record)
    assert.deepEqual(coverage(records, allMessages([count])).missing, [])
    assert.equal(records.find((r) => r.offset === 33)?.attempt, 2)
    const failures = readEvents(events).flatMap((e) => (e.type === 'handler-error' ? [e] : []))
    assert.match(failures.find((e) => e.offset === 33)?.error ?? '', /worker thread died while running the slice: .*out of memory/)
    assertRetriedInOrder(failures, records, 33, 'KVP_WORKER_CRASH')
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], count)
  })

  test('a handler that honours ctx.signal: past handlerTimeoutMs the signal aborts with KVP_TIMEOUT, the handler rejects, the message is retried on a thread that lives on, nothing lost', async (t) => {
    const errors = listen(channels.handlerError)
    const aborted = tempFile('aborted.tsv')
    const { topic, groupId, records } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 300,
        partition: 0,
        env: { KVP_TEST_ABORTABLE: '17:1', KVP_TEST_ABORT_RECORD: aborted },
        route: { handler: crashingHandler, virtualPartitions: { lanes: 8 }, handlerTimeoutMs: 300, retry: { backoffMs: 20 } },
      },
      30_000,
    )
    errors.stop()
    const sawAbort = existsSync(aborted) ? readFileSync(aborted, 'utf8').split('\n').filter(Boolean) : []
    assert.deepEqual(sawAbort, ['17\t1\tKVP_TIMEOUT'], 'the handler saw its signal abort, with the timeout as the reason')
    assert.deepEqual(
      errors.events.filter((e) => e.topic === topic).map((e) => [e.offset, e.attempt, e.error.code, e.willRetry]),
      [[17, 1, 'KVP_TIMEOUT', true]],
      'one failure: the timeout (the thread did not die)',
    )
    assert.equal(records.find((r) => r.offset === 17)?.attempt, 2, 'the aborted message succeeded on its second attempt')
    assert.deepEqual(await unhandledMessages(cluster.bootstrapServers, topic, records), [])
    assert.deepEqual(orderViolations(records), [])
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 300)
  })

  test('an undecodable JSON payload reaches the dead-letter topic with code KVP_DECODE, without retries', async (t) => {
    const deadLetterTopic = uniqueName('dlq')
    // Values are raw bytes, not JSON: every one is undecodable.
    const { engine, topic, groupId } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 50,
        partition: 0,
        route: { payload: 'json', virtualPartitions: { lanes: 4 }, retry: { maxAttempts: 5, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
      },
      30_000,
    )
    assert.equal(engine.stats().totals.deadLettered, 50)
    assert.equal(engine.stats().totals.failures, 50, 'one attempt each: decoding cannot get better')
    const dead = await readTopic(cluster.bootstrapServers, deadLetterTopic, 50)
    assert.equal(dead.length, 50)
    for (const message of dead) assert.equal(message.headers[DeadLetterHeaders.errorCode], 'KVP_DECODE')
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 50)
  })

  test('a partitioner that throws on one message: KVP_PARTITIONER on kvp:partitioner-error, the batch runs as lane 0, nothing lost, order kept', async (t) => {
    const lanes = 16
    // With `consistent`, a key's lane is hash(key) % lanes: fail on the first message from
    // offset 1500 on whose key does not belong in lane 0, so lane 0 can only come from the failure.
    const keyAt = (offset: number): string => `key-${offset % 200}`
    let bad = 1500
    while (hashKey(keyAt(bad)) % lanes === 0) bad++
    const errors = listen(channels.partitionerError)
    const { topic, groupId, records } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 3000,
        partition: 0,
        keys: 200,
        env: { KVP_TEST_DELAY_MS: '0' },
        route: {
          virtualPartitions: {
            lanes: lanes,
            distribution: 'consistent',
            partitioner: (message) => {
              if (message.offset === bad) throw new Error('cannot route this one')
              return message.key
            },
          },
        },
      },
      30_000,
    )
    errors.stop()
    assert.deepEqual(await unhandledMessages(cluster.bootstrapServers, topic, records), [])
    assert.deepEqual(orderViolations(records), [])
    const failed = records.find((r) => r.offset === bad)
    assert.equal(failed?.key, keyAt(bad))
    assert.equal(failed?.lane, 0, `the batch holding the bad message ran on lane 0 (its key's lane is ${hashKey(keyAt(bad)) % lanes})`)
    const published = errors.events.filter((e) => e.topic === topic)
    assert.deepEqual(
      published.map((e) => [e.partition, e.offset, e.error.code, e.error.retryable]),
      [[0, bad, 'KVP_PARTITIONER', false]],
    )
    assert.match(published[0]?.error.message ?? '', new RegExp(`partitioner of topic '${topic}' threw at partition 0 offset ${bad}: cannot route this one; the batch runs as one lane`))
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 3000)
  })

  test('manual offsets: unmarked messages hold the watermark; marked ones release it', async () => {
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 150,
      partition: 0,
      env: { KVP_TEST_MARK_BELOW: '100' },
      route: { manualOffsets: true, virtualPartitions: false },
    })
    engines.push(engine)
    await waitFor('all 150 handled', () => readRecords(record).length >= 150, 30_000)
    await waitFor('watermark at the last mark', () => engine.stats().partitions.find((p) => p.partition === 0)?.watermark === 100, 10_000)
    await engine.stop()
    assert.equal(engine.stats().totals.handled, 150, 'every message ran')
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 100, 'the commit stops at the first unmarked message')
  })

  test('a handler slower than max.poll.interval.ms does not cause a rebalance or a duplicate', async (t) => {
    const { engine, topic, records } = await runScenario(
      t,
      {
        bootstrapServers: cluster.bootstrapServers,
        count: 100,
        partition: 0,
        env: { KVP_TEST_SLOW: '10:9000' },
        route: { virtualPartitions: { lanes: 4 } },
        engine: { kafka: { 'session.timeout.ms': 6000, 'max.poll.interval.ms': 6500 } },
      },
      30_000,
    )
    const { missing, duplicates } = coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic)))
    assert.deepEqual(missing, [])
    assert.deepEqual(duplicates, [], 'no message handled twice')
    assert.equal(engine.stats().generation, 1, 'the first assignment was the only one')
  })
})
