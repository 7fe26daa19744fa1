import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { startEngine } from '../../src/index.js'
import { produceMessages } from '../helpers/produce.js'
import { allMessages, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'
import { useBroker } from '../helpers/broker.js'

const cluster = useBroker()

test('a handler that fails twice on one message delays only its lane, and the message is then handled', async () => {
  const topic = uniqueName('retry')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  const failing = 100
  process.env.KVP_TEST_RECORD = record
  process.env.KVP_TEST_DELAY_MS = '1'
  process.env.KVP_TEST_FAIL = `${failing}:2`
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 2000, keys: 200, size: 40, partition: 0 })
  const engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId,
    topics: [{ topic, handler: recordingHandler, virtualPartitions: { lanes: 16 }, retry: { backoffMs: 300, maxBackoffMs: 1000 } }],
    threads: 2,
    kafka: { 'session.timeout.ms': 6000 },
  })
  try {
    await waitFor('2000 handled', () => engine.stats().totals.handled >= 2000, 60_000)
  } finally {
    await engine.stop()
  }
  const records = readRecords(record)
  const ends = await endOffsets(cluster.bootstrapServers, topic)
  const { missing, duplicates } = coverage(records, allMessages(ends))
  assert.deepEqual(missing, [])
  assert.deepEqual(duplicates, [], 'a failed attempt is not recorded as handled; each message handled once')
  assert.deepEqual(orderViolations(records), [])

  const retried = records.find((r) => r.offset === failing)
  assert.ok(retried, 'the failing message was handled in the end')
  assert.equal(retried.attempt, 3, 'on its third attempt')
  assert.equal(engine.stats().totals.failures, 2)

  // Only its lane waited: other lanes handled later messages before it succeeded...
  const otherLanesLater = records.filter((r) => r.lane !== retried.lane && r.offset > failing && r.end < retried.start)
  assert.ok(otherLanesLater.length > 100, `other lanes went on during the backoff (${otherLanesLater.length} later messages handled meanwhile)`)
  // ...while its own lane held everything behind it.
  const ownLaneAfter = records.filter((r) => r.lane === retried.lane && r.offset > failing)
  assert.ok(ownLaneAfter.length > 0)
  for (const r of ownLaneAfter) assert.ok(r.start >= retried.end, `offset ${r.offset} of the same lane ran only after the retried message`)
  assert.deepEqual(await committedOrZero(cluster.bootstrapServers, groupId, topic), ends)
})
