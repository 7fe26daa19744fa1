/**
 * What is done stays done: each commit carries the offsets done above the committed one
 * (its offset map, in the commit's metadata), and the next owner of the partition does not
 * hand those messages to a handler again. Checked from what the handler recorded, across a
 * handoff with a slow key, and with metadata another client wrote.
 */
import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { channels } from '../../src/diagnostics.js'
import { startEngine } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { useBroker } from '../helpers/broker.js'
import { engineOptions, listen, setHandlerEnv } from '../helpers/engine-run.js'
import { commitWithKafkaJs } from '../helpers/foreign-commit.js'
import { committedOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'

const COUNT = 2000
const KEYS = 200

describe('offset maps: what is done stays done', { timeout: 170_000 }, () => {
  const cluster = useBroker()

  test('a handoff with a slow key: nothing done before the stop runs again after it, the slow key runs once, per-key order holds, and the commit reaches the end', { timeout: 120_000 }, async (t) => {
    const topic = uniqueName('slow-key')
    const groupId = uniqueName('group')
    const record = tempFile('handled.tsv')
    const release = tempFile('release')
    await ensureTopic(cluster.bootstrapServers, topic)
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: COUNT, keys: KEYS, size: 20, partition: 0 })
    const route = { topic, handler: recordingHandler, virtualPartitions: { lanes: 16, distribution: 'consistent' as const } }
    // Offset 0 (key-0) is held until the release file exists: its lane, and with it the watermark, stays at 0.
    setHandlerEnv({ KVP_TEST_RECORD: record, KVP_TEST_HOLD: '0', KVP_TEST_HOLD_FILE: release, KVP_TEST_TAG: 'first' })
    let engine: Engine | undefined = await startEngine(engineOptions(cluster.bootstrapServers, groupId, route, { revokeTimeoutMs: 500 }))
    t.after(() => engine?.stop())
    const first = engine
    await waitFor(
      'every lane but the held one to be empty',
      () => {
        const line = first.stats().partitions[0]
        return line !== undefined && line.fetched === COUNT && line.activeLanes === 1 && line.busyLanes === 1 && line.queuedLanes === 0
      },
      60_000,
    )
    await first.stop()
    engine = undefined
    const before = readRecords(record)
    assert.ok(before.length > COUNT / 2, `most messages were done before the stop (${before.length})`)
    assert.deepEqual(await committedOffsets(cluster.bootstrapServers, groupId, topic, 1), [0], 'the slow message holds the committed offset at 0')

    // The next owner: the slow message now finishes.
    writeFileSync(release, '')
    const maps = listen(channels.offsetMap, topic)
    t.after(() => maps.stop())
    setHandlerEnv({ KVP_TEST_RECORD: record, KVP_TEST_TAG: 'second' })
    const second = await startEngine(engineOptions(cluster.bootstrapServers, groupId, route))
    engine = second
    await waitFor('the commit to reach the end', async () => (await committedOffsets(cluster.bootstrapServers, groupId, topic, 1))[0] === COUNT, 60_000, 200)
    const skipped = second.stats().totals.skippedDone
    await second.stop()
    engine = undefined

    const all = readRecords(record)
    const after = all.filter((r) => r.tag === 'second')
    const doneBefore = new Set(before.map((r) => r.offset))
    const again = after.filter((r) => doneBefore.has(r.offset)).map((r) => r.offset)
    assert.deepEqual(again.slice(0, 20), [], `${again.length} messages done before the handoff ran again after it`)
    assert.equal(skipped, doneBefore.size, 'every message done before the handoff was skipped as done')
    assert.deepEqual(
      maps.events.map(({ committed, done, problem }) => ({ committed, done, problem })),
      [{ committed: 0, done: doneBefore.size, problem: undefined }],
    )
    const { missing, duplicates } = coverage(
      all,
      Array.from({ length: COUNT }, (_, offset) => ({ partition: 0, offset })),
    )
    assert.deepEqual(missing.slice(0, 20), [], 'every message was handled')
    assert.deepEqual(duplicates.slice(0, 20), [], 'no message was handled twice')
    assert.deepEqual(orderViolations(all), [], 'per-key order holds across the handoff')
  })

  test("metadata that is not kvp's (another client's text, an altered map) is ignored with one event naming the problem: everything from the committed offset runs, nothing is skipped", {
    timeout: 120_000,
  }, async (t) => {
    const topic = uniqueName('foreign-metadata')
    const groupId = uniqueName('group')
    const record = tempFile('handled.tsv')
    await ensureTopic(cluster.bootstrapServers, topic)
    for (const partition of [0, 1]) await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 100, keys: 10, size: 20, partition })
    await commitWithKafkaJs(cluster.bootstrapServers, groupId, topic, 0, 40, 'checkpoint written by another consumer')
    // kvp's prefix, but not a map it wrote: a value cut short and altered.
    await commitWithKafkaJs(cluster.bootstrapServers, groupId, topic, 1, 30, 'kvp1:AQAAAAAAdGhpcyBpcyBub3QgYSBtYXA=')
    assert.deepEqual(await committedOffsets(cluster.bootstrapServers, groupId, topic, 2), [40, 30])
    const maps = listen(channels.offsetMap, topic)
    t.after(() => maps.stop())
    setHandlerEnv({ KVP_TEST_RECORD: record })
    const engine = await startEngine(engineOptions(cluster.bootstrapServers, groupId, { topic, handler: recordingHandler }))
    t.after(() => engine.stop())
    await waitFor('the commits to reach the ends', async () => (await committedOffsets(cluster.bootstrapServers, groupId, topic, 2)).every((offset) => offset === 100), 60_000, 200)
    assert.equal(engine.stats().totals.skippedDone, 0)
    await engine.stop()
    const expected = [...Array.from({ length: 60 }, (_, i) => ({ partition: 0, offset: 40 + i })), ...Array.from({ length: 70 }, (_, i) => ({ partition: 1, offset: 30 + i }))]
    const records = readRecords(record)
    const { missing, duplicates } = coverage(records, expected)
    assert.deepEqual(missing, [], 'everything from the committed offsets ran')
    assert.deepEqual(duplicates, [])
    assert.equal(records.length, expected.length, 'nothing below the committed offsets ran')
    const byPartition = maps.events.map((event) => [event.partition, event.committed, event.problem !== undefined]).sort()
    assert.deepEqual(byPartition, [
      [0, 40, true],
      [1, 30, true],
    ])
    assert.match(maps.events.find((event) => event.partition === 0)?.problem ?? '', /not a kvp offset map/)
  })
})
