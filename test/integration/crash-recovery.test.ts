import { strict as assert } from 'node:assert'
import { after, test } from 'node:test'
import { useBroker } from '../helpers/broker.js'
import { assertReplaysBounded, assertSafeCommits } from '../helpers/crash.js'
import { openOffsetReader } from '../helpers/group.js'
import { allMessages, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, runArgs, startKvp } from '../helpers/process.js'
import type { KvpProcess } from '../helpers/process.js'
import { produceMessages } from '../helpers/produce.js'
import { countLines, coverage, readRecords } from '../helpers/records.js'

const processes: KvpProcess[] = []
after(async () => {
  for (const proc of processes) await ensureDead(proc)
})
const cluster = useBroker()

test('a kvp run process killed with SIGKILL mid-stream had committed only handled messages, and its restart loses nothing and replays only what was above those commits', {
  timeout: 170_000,
}, async (t) => {
  const topic = uniqueName('crash')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  const count = 12_000
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count, keys: 1000, size: 40 })
  const args = runArgs({
    brokers: cluster.bootstrapServers,
    group: groupId,
    topic,
    handler: recordingHandler,
    flags: ['--lanes', '32', '--threads', '2', '--stats-interval-ms', '0'],
    kafka: ['session.timeout.ms=6000', 'auto.commit.interval.ms=200'],
  })
  // 4 partitions × 32 lanes at 40 ms a message handle ~3,200 a second: the kill lands seconds
  // before the last one.
  const env = { KVP_TEST_RECORD: record, KVP_TEST_DELAY_MS: '40' }

  const first = await startKvp(args, env)
  processes.push(first)
  // The group's committed offsets as the broker has them, read by a client that never joins.
  const offsets = await openOffsetReader(cluster.bootstrapServers, groupId, topic)
  t.after(() => offsets.close())
  // A slice is acknowledged (and its partition's watermark moves) only once all of its messages
  // are done: the kill waits for a commit on every partition.
  await waitFor('a third of the messages handled and a commit on every partition', async () => countLines(record) >= count / 3 && (await offsets.read()).every((offset) => offset > 0), 60_000, 100)
  // Commits go on until the kill: what was committed just before it (to show commits happened)
  // and what the broker holds once the process is dead (where the restart starts).
  const committedBeforeKill = await offsets.read()
  const handledAtRead = readRecords(record)
  first.child.kill('SIGKILL')
  assert.equal(await first.exited, 'SIGKILL')
  const committedAtKill = await offsets.read()
  const handledBeforeKill = readRecords(record)
  assert.ok(handledBeforeKill.length < count, 'killed mid-stream')
  t.diagnostic(`killed with ${handledBeforeKill.length} of ${count} messages handled; committed ${committedBeforeKill.join(',')} just before, ${committedAtKill.join(',')} at the kill`)
  assertSafeCommits(committedBeforeKill, handledAtRead, 'just before the kill')
  assertSafeCommits(committedAtKill, handledBeforeKill, 'once the killed process was dead')

  const ends = await endOffsets(cluster.bootstrapServers, topic)
  const expected = allMessages(ends)
  // The restarted member waits for the dead one's session to time out before it gets the partitions.
  const second = await startKvp(args, env)
  processes.push(second)
  await waitFor('every message handled at least once', () => coverage(readRecords(record), expected).missing.length === 0, 90_000, 250)
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0, `clean stop on SIGTERM:\n${second.output()}`)

  const records = readRecords(record)
  assert.deepEqual(coverage(records, expected).missing, [], 'nothing lost')
  const { replayed, bound } = assertReplaysBounded(records, handledBeforeKill, committedAtKill)
  t.diagnostic(`${replayed} handled again after the restart; ${bound} were handled above the committed offsets before the kill`)
})
