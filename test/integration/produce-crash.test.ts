import { strict as assert } from 'node:assert'
import { after, test } from 'node:test'
import { useBroker } from '../helpers/broker.js'
import { assertReplaysBounded, assertSafeCommits, sourceOf } from '../helpers/crash.js'
import { openOffsetReader } from '../helpers/group.js'
import { endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler } from '../helpers/paths.js'
import { ensureDead, startKvp } from '../helpers/process.js'
import type { KvpProcess } from '../helpers/process.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { readTopic } from '../helpers/read-topic.js'

const processes: KvpProcess[] = []
after(async () => {
  for (const proc of processes) await ensureDead(proc)
})
const cluster = useBroker()

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

test("a kvp run process that produces and is killed with SIGKILL mid-stream had committed only inputs whose outputs were written, and its restart loses no input's output and writes again only those above the commits", {
  timeout: 170_000,
}, async (t) => {
  const input = uniqueName('orders')
  const output = uniqueName('orders-enriched')
  const groupId = uniqueName('group')
  const count = 8000
  await ensureTopic(cluster.bootstrapServers, output)
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: input, count, keys: 500, size: 20 })
  const args = ['run', '--brokers', cluster.bootstrapServers, '--group', groupId, '--topic', input, '--handler', producingHandler, '--lanes', '32', '--threads', '2']
  args.push('-X', 'session.timeout.ms=6000', '-X', 'auto.commit.interval.ms=200', '-X', 'producer.linger.ms=20', '--stats-interval-ms', '0')
  // 4 partitions × 32 lanes at 80 ms a message write ~1,600 outputs a second: the kill, checked
  // every ~100 ms by a client of its own, lands seconds before the last one.
  const env = { KVP_TEST_OUTPUT: output, KVP_TEST_DELAY_MS: '80' }

  const first = await startKvp(args, env)
  processes.push(first)
  // The group's committed offsets as the broker has them, read by a client that never joins.
  const offsets = await openOffsetReader(cluster.bootstrapServers, groupId, input)
  t.after(() => offsets.close())
  // A slice is acknowledged (and its partition's watermark moves) only once all of its messages
  // are done: the kill waits for a commit on every partition.
  await waitFor(
    'a third of the outputs written and a commit on every partition',
    async () => sum(await endOffsets(cluster.bootstrapServers, output)) >= count / 3 && (await offsets.read()).every((offset) => offset > 0),
    60_000,
    100,
  )
  // Commits go on until the kill: what was committed just before it (to show commits happened)
  // and what the broker holds once the process is dead (where the restart starts).
  const committedBeforeKill = await offsets.read()
  first.child.kill('SIGKILL')
  assert.equal(await first.exited, 'SIGKILL')
  const committedAtKill = await offsets.read()
  const writtenBeforeKill = (await readTopic(cluster.bootstrapServers, output, sum(await endOffsets(cluster.bootstrapServers, output)), 30_000)).map((record) => sourceOf(record.value))
  assert.ok(writtenBeforeKill.length < count, 'killed mid-stream')
  t.diagnostic(`killed with ${writtenBeforeKill.length} of ${count} outputs written; committed ${committedBeforeKill.join(',')} just before, ${committedAtKill.join(',')} at the kill`)
  // An input is acknowledged only once its output is delivered, so an input below a committed offset has its output in the topic.
  assertSafeCommits(committedBeforeKill, writtenBeforeKill, 'just before the kill')
  assertSafeCommits(committedAtKill, writtenBeforeKill, 'once the killed process was dead')

  const ends = await endOffsets(cluster.bootstrapServers, input)
  const second = await startKvp(args, env)
  processes.push(second)
  await waitFor('the committed offsets reach the end', async () => (await offsets.read()).every((offset, p) => offset >= (ends[p] as number)), 120_000, 250)
  second.child.kill('SIGTERM')
  assert.equal(await second.exited, 0, `clean stop on SIGTERM:\n${second.output()}`)

  const records = await readTopic(cluster.bootstrapServers, output, sum(await endOffsets(cluster.bootstrapServers, output)), 30_000)
  const seen = new Set(records.map((record) => record.value))
  const missing: string[] = []
  for (let p = 0; p < ends.length; p++) for (let offset = 0; offset < (ends[p] as number); offset++) if (!seen.has(`${p}:${offset}`)) missing.push(`${p}:${offset}`)
  assert.deepEqual(missing, [], 'every input has its output')
  const { replayed, bound } = assertReplaysBounded(
    records.map((record) => sourceOf(record.value)),
    writtenBeforeKill,
    committedAtKill,
  )
  t.diagnostic(`${replayed} outputs written again after the restart; ${bound} were written above the committed offsets before the kill`)
})
