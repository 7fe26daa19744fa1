import { strict as assert } from 'node:assert'
import { after, describe, test } from 'node:test'
import { DeadLetterHeaders } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { useBroker } from '../helpers/broker.js'
import { startScenario, untilHandled } from '../helpers/engine-run.js'
import { allMessages, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { readTopic } from '../helpers/read-topic.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'

const engines: Engine[] = []
after(async () => {
  for (const engine of engines) await engine.stop()
})
const cluster = useBroker()

describe('failures and bad input', () => {
  test('a poison message goes to the dead-letter topic after N attempts with its headers, every other message is handled, and the committed offset reaches the end', async () => {
    const deadLetterTopic = uniqueName('dlq')
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 500,
      partition: 0,
      env: { KVP_TEST_FAIL: '42:1000' },
      route: { virtualPartitions: { maxPartitions: 8 }, retry: { maxAttempts: 3, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
    })
    engines.push(engine)
    await untilHandled(engine, 500)
    await engine.stop()
    const records = readRecords(record)
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
      route: { virtualPartitions: { maxPartitions: 8 }, retry: { maxAttempts: 2, backoffMs: 20, maxBackoffMs: 100 }, deadLetter: { topic: uniqueName('dlq'), kafka: { 'message.max.bytes': 1000 } } },
    })
    engines.push(engine)
    await waitFor('the dead-letter writes to be failing', () => engine.stats().totals.failures >= 2 && engine.stats().totals.handled > 200, 30_000)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const stats = engine.stats()
    assert.equal(stats.totals.deadLettered, 0)
    assert.ok(stats.totals.handled < 300, 'the poison message and its lane behind it are not done')
    assert.equal(stats.totals.handled + stats.totals.inFlight, 300, 'every message is either done or still held')
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

  test('a handler that blocks its thread past handlerTimeoutMs is aborted and retried; the engine stays up', async () => {
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 300,
      partition: 0,
      env: { KVP_TEST_HANG: '17:1' },
      route: { virtualPartitions: { maxPartitions: 8 }, handlerTimeoutMs: 300, retry: { backoffMs: 20 } },
    })
    engines.push(engine)
    await untilHandled(engine, 300, 30_000)
    await engine.stop()
    const records = readRecords(record)
    const hung = records.find((r) => r.offset === 17)
    assert.equal(hung?.attempt, 2, 'the hung message succeeded on its second attempt')
    assert.deepEqual(coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic))).missing, [])
    assert.deepEqual(orderViolations(records.filter((r) => r.attempt === 1 || r.offset === 17)), [])
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 300)
  })

  test('a handler that never settles past handlerTimeoutMs fails with KVP_TIMEOUT and is retried', async () => {
    const deadLetterTopic = uniqueName('dlq')
    const { engine, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 200,
      partition: 0,
      env: { KVP_TEST_STALL: '5:1,6:1000' },
      route: { virtualPartitions: false, handlerTimeoutMs: 200, retry: { maxAttempts: 2, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
    })
    engines.push(engine)
    await untilHandled(engine, 200, 30_000)
    await engine.stop()
    const records = readRecords(record)
    assert.equal(records.find((r) => r.offset === 5)?.attempt, 2, 'retried once, then handled')
    assert.equal(
      records.find((r) => r.offset === 6),
      undefined,
      'the one that always stalls was dead-lettered',
    )
    const [dead] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
    assert.equal(dead?.headers[DeadLetterHeaders.errorCode], 'KVP_TIMEOUT')
  })

  test('a handler that calls process.exit() in its worker fails only its slice; all messages are handled', async () => {
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 400,
      partition: 0,
      env: { KVP_TEST_EXIT: '33:1', KVP_TEST_DELAY_MS: '1' },
      route: { virtualPartitions: { maxPartitions: 16 }, retry: { backoffMs: 20 } },
    })
    engines.push(engine)
    await untilHandled(engine, 400, 30_000)
    await engine.stop()
    const records = readRecords(record)
    assert.deepEqual(coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic))).missing, [])
    assert.equal(records.find((r) => r.offset === 33)?.attempt, 2)
    assert.ok(engine.stats().totals.failures >= 1)
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 400)
  })

  test('an undecodable JSON payload reaches the dead-letter topic with code KVP_DECODE, without retries', async () => {
    const deadLetterTopic = uniqueName('dlq')
    const { engine, topic, groupId } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 50,
      partition: 0,
      route: { payload: 'json', virtualPartitions: { maxPartitions: 4 }, retry: { maxAttempts: 5, backoffMs: 20 }, deadLetter: { topic: deadLetterTopic } },
    })
    engines.push(engine)
    // Values are raw bytes, not JSON: every one is undecodable.
    await untilHandled(engine, 50, 30_000)
    await engine.stop()
    assert.equal(engine.stats().totals.deadLettered, 50)
    assert.equal(engine.stats().totals.failures, 50, 'one attempt each: decoding cannot get better')
    const dead = await readTopic(cluster.bootstrapServers, deadLetterTopic, 50)
    assert.equal(dead.length, 50)
    for (const message of dead) assert.equal(message.headers[DeadLetterHeaders.errorCode], 'KVP_DECODE')
    assert.equal((await committedOrZero(cluster.bootstrapServers, groupId, topic))[0], 50)
  })

  test('a partitioner that throws on one message: the batch runs as one lane, nothing lost, order kept', async () => {
    const { engine, topic, groupId, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 3000,
      partition: 0,
      keys: 200,
      env: { KVP_TEST_DELAY_MS: '0' },
      route: {
        virtualPartitions: {
          maxPartitions: 16,
          partitioner: (message) => {
            if (message.offset === 1500) throw new Error('cannot route this one')
            return message.key
          },
        },
      },
    })
    engines.push(engine)
    await untilHandled(engine, 3000, 30_000)
    await engine.stop()
    const records = readRecords(record)
    assert.deepEqual(coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic))).missing, [])
    assert.deepEqual(orderViolations(records), [])
    const failedBatch = records.find((r) => r.offset === 1500)
    assert.equal(failedBatch?.lane, 0, 'the batch holding the bad message ran on lane 0')
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

  test('a handler slower than max.poll.interval.ms does not cause a rebalance or a duplicate', async () => {
    const { engine, topic, record } = await startScenario({
      bootstrapServers: cluster.bootstrapServers,
      count: 100,
      partition: 0,
      env: { KVP_TEST_SLOW: '10:9000' },
      route: { virtualPartitions: { maxPartitions: 4 } },
      engine: { kafka: { 'session.timeout.ms': 6000, 'max.poll.interval.ms': 6500 } },
    })
    engines.push(engine)
    await untilHandled(engine, 100, 30_000)
    await engine.stop()
    const records = readRecords(record)
    const { missing, duplicates } = coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic)))
    assert.deepEqual(missing, [])
    assert.deepEqual(duplicates, [], 'no message handled twice')
    assert.equal(engine.stats().generation, 1, 'the first assignment was the only one')
  })
})
