import { strict as assert } from 'node:assert'
import { after, test } from 'node:test'
import { produceMessages } from '../helpers/produce.js'
import { useBroker } from '../helpers/broker.js'
import { allMessages, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, startKvp } from '../helpers/process.js'
import type { KvpProcess } from '../helpers/process.js'
import { countLines, coverage, readRecords } from '../helpers/records.js'

const processes: KvpProcess[] = []
after(async () => {
  for (const proc of processes) await ensureDead(proc)
})
const cluster = useBroker()

test('a kvp run process killed with SIGKILL mid-stream and restarted loses nothing', async (t) => {
  const topic = uniqueName('crash')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  const count = 12_000
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count, keys: 1000, size: 40 })
  const args = [
    'run',
    '--brokers',
    cluster.bootstrapServers,
    '--group',
    groupId,
    '--topic',
    topic,
    '--handler',
    recordingHandler,
    '--max-partitions',
    '32',
    '--threads',
    '2',
    '-X',
    'session.timeout.ms=6000',
    '-X',
    'auto.commit.interval.ms=200',
    '--stats-interval-ms',
    '0',
  ]
  // 4 partitions × 32 lanes at 40 ms a message handle ~3,200 a second: the kill lands seconds
  // before the last one.
  const env = { KVP_TEST_RECORD: record, KVP_TEST_DELAY_MS: '40' }

  const first = await startKvp(args, env)
  processes.push(first)
  await waitFor('a third of the messages handled', () => countLines(record) >= count / 3, 60_000)
  first.child.kill('SIGKILL')
  assert.equal(await first.exited, 'SIGKILL')
  const handledBeforeKill = countLines(record)
  assert.ok(handledBeforeKill < count, 'killed mid-stream')
  t.diagnostic(`killed with ${handledBeforeKill} of ${count} messages handled`)

  const ends = await endOffsets(cluster.bootstrapServers, topic)
  const expected = allMessages(ends)
  // The restarted member waits for the dead one's session to time out before it gets the partitions.
  const second = await startKvp(args, env)
  processes.push(second)
  await waitFor('every message handled at least once', () => coverage(readRecords(record), expected).missing.length === 0, 90_000, 250)
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0, `clean stop on SIGTERM:\n${second.output()}`)

  const records = readRecords(record)
  const { missing, duplicates } = coverage(records, expected)
  assert.deepEqual(missing, [], 'nothing lost')
  // Duplicates are bounded by what was in flight or not yet committed when the process died.
  assert.ok(duplicates.length < count / 2, `duplicates bounded (${duplicates.length})`)
})
