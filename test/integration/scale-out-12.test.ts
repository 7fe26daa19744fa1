/**
 * Scale-out at a size the embedded cluster cannot make (it has only 4-partition topics):
 * three `kvp run` processes in one group (the default, classic protocol and settings)
 * drain a 100,000-message backlog from a 12-partition topic. The members settle on a split
 * before the backlog is written (while they are stopped), so nothing is ever handed over
 * and every message must be handled exactly once.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { openOffsetReader, orderViolationsByRun, readEvents } from '../helpers/group.js'
import { allMessages, endOffsets, waitFor } from '../helpers/kafka.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { now, scenario, stopCleanly, useMembers } from '../helpers/members.js'
import type { Member } from '../helpers/members.js'
import { assignsByTag, describeOwnership, rebalanceTimelines, waitForSplit } from '../helpers/ownership.js'
import { coverage, readRecords } from '../helpers/records.js'

const PARTITIONS = 12
const BACKLOG = 100_000

// Members first: after hooks run in order, and the broker must outlive them.
const group = useMembers(() => cluster.bootstrapServers)
const cluster = useBroker()
const readers = group.readers

describe('scale-out on a 12-partition topic', () => {
  test('three kvp run processes that settled on a split drain a 100k backlog of 12 partitions: every message handled exactly once, and the committed offsets sum to the backlog', {
    ...needsRealBroker,
    timeout: 150_000,
  }, async (t) => {
    const s = scenario('scale12')
    const { topic, groupId, record } = s
    await ensureTopic(cluster.bootstrapServers, topic, { partitions: PARTITIONS })

    // The default protocol and settings (no -X session.timeout.ms either).
    const members: Member[] = await Promise.all(['p1', 'p2', 'p3'].map((tag) => group.start(s, tag, { kafka: [] })))
    const startedAt = now()
    const lastRebalance = (): number =>
      Math.max(
        0,
        ...members.flatMap((m) =>
          readEvents(m.events)
            .filter((e) => e.type === 'rebalance')
            .map((e) => e.t),
        ),
      )
    // Settled: split, and no rebalance for a second (a member that joined late would have
    // started another round by then).
    await waitForSplit(topic, members, PARTITIONS, 40_000, { until: () => now() - lastRebalance() > 1000 })
    const settledAt = now()
    const split3 = describeOwnership(topic, members)

    // A backlog, not a stream the members keep up with: they are stopped (SIGSTOP) while it
    // is written. That takes seconds, far inside the default 45 s session and 5 min poll
    // interval, so the group does not notice.
    for (const m of members) m.proc.child.kill('SIGSTOP')
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: BACKLOG, keys: 1000, size: 40 })
    const producedAt = now()
    for (const m of members) m.proc.child.kill('SIGCONT')
    const ends = await endOffsets(cluster.bootstrapServers, topic, PARTITIONS)
    assert.equal(
      ends.reduce((a, b) => a + b, 0),
      BACKLOG,
      'the topic holds the backlog',
    )
    assert.ok(
      ends.every((end) => end > 0),
      `librdkafka's partitioner spread the keys over every partition (${ends.join(',')})`,
    )

    const reader = await openOffsetReader(cluster.bootstrapServers, groupId, topic, PARTITIONS)
    readers.push(reader)
    let committed: number[] = []
    await waitFor(
      'the group to commit every partition up to its end offset',
      async () => {
        committed = await reader.read()
        return committed.every((offset, p) => offset === ends[p])
      },
      90_000,
      500,
    ).catch(() => assert.fail(`committed ${committed.join(',')} of ends ${ends.join(',')} after 90 s (${describeOwnership(topic, members)})`))
    const drainedAt = now()
    const stoppingAt = drainedAt
    await Promise.all(members.map(stopCleanly))

    const records = readRecords(record)
    const { missing, duplicates } = coverage(records, allMessages(ends))
    const handover = members.flatMap((m) =>
      readEvents(m.events)
        .filter((e) => e.type === 'rebalance' && e.t > settledAt && e.t < stoppingAt)
        .map(() => m.tag),
    )
    assert.deepEqual(handover, [], `no rebalance between the settled split and the stop; rebalances (seconds from the settled split):\n${rebalanceTimelines(members, settledAt)}`)
    assert.deepEqual(missing.slice(0, 10), [], `every message handled (${missing.length} missing)`)
    assert.deepEqual(duplicates.slice(0, 10), [], `no message handled twice (${duplicates.length} were)`)
    assert.equal(records.length, BACKLOG, 'as many handler calls as messages')
    for (const m of members)
      assert.ok(
        records.some((r) => r.tag === m.tag),
        `${m.tag} handled part of the backlog (${split3})`,
      )
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(topic, members)).slice(0, 10), [], "same-key messages in offset order within each member's partitions")

    const final = await reader.read()
    assert.deepEqual(final, ends, "after the stop each partition's committed offset is its end offset")
    assert.equal(
      final.reduce((a, b) => a + b, 0),
      BACKLOG,
      'the committed offsets sum to the backlog',
    )
    t.diagnostic(
      `split ${split3}; settled ${((settledAt - startedAt) / 1000).toFixed(1)} s after start; produced in ${((producedAt - settledAt) / 1000).toFixed(1)} s; drained and committed ${((drainedAt - producedAt) / 1000).toFixed(1)} s after the members resumed (${Math.round(BACKLOG / ((drainedAt - producedAt) / 1000))} msg/s with the committed-offset poll every 0.5 s)`,
    )
  })
})
