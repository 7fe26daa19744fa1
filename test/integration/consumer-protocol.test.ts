/**
 * The next-generation consumer group protocol (KIP-848, `-X group.protocol=consumer`):
 * the broker assigns partitions and every change is incremental, so a member keeps the
 * partitions it is not asked to give up. Several `kvp run` processes join, leave and die
 * while messages stream in; each child logs its rebalances (../helpers/event-log-preload.ts)
 * and the recording handler tags every record with its process.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { orderViolationsByRun, readEvents, streamMessages } from '../helpers/group.js'
import type { EngineEvent, RebalanceEvent } from '../helpers/group.js'
import { allMessages, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { now, scenario, stopCleanly, useMembers } from '../helpers/members.js'
import type { Member, Scenario } from '../helpers/members.js'
import { assignsByTag, describeOwnership, killAndAwaitTakeover, rebalanceTimelines, recordsOf, waitForSoleOwner, waitForSplit } from '../helpers/ownership.js'
import { recordingHandler } from '../helpers/paths.js'
import { runArgs, runKvpToEnd } from '../helpers/process.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { coverage, readRecords } from '../helpers/records.js'

const PARTITIONS = 6

// Members first: after hooks run in order, and the broker must outlive them.
const members = useMembers(() => cluster.bootstrapServers)
const cluster = useBroker()
const streams = members.streams

/** A member on the consumer protocol: no session.timeout.ms or heartbeat.interval.ms, which it refuses. */
const startMember = (s: Scenario, tag: string): Promise<Member> => members.start(s, tag, { kafka: ['group.protocol=consumer'], env: { KVP_TEST_DELAY_MS: '2' } })

const rebalances = (member: Member): RebalanceEvent[] => readEvents(member.events).filter((e: EngineEvent): e is RebalanceEvent => e.type === 'rebalance')

/** Times (after the member's first assignment, before `until`) at which it owned no partition of `topic`. */
function emptied(events: EngineEvent[], topic: string, until: number): number[] {
  const mine = new Set<number>()
  let assignedOnce = false
  const times: number[] = []
  for (const event of events) {
    if (event.type !== 'rebalance' || event.t >= until) continue
    for (const { topic: t, partition } of event.partitions) {
      if (t !== topic) continue
      if (event.kind === 'assign') mine.add(partition)
      else mine.delete(partition)
    }
    if (mine.size > 0) assignedOnce = true
    else if (assignedOnce) times.push(event.t)
  }
  return times
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

describe('the consumer group protocol of KIP-848 (group.protocol=consumer)', () => {
  test('members joining from 1 to 3, one leaving on SIGTERM and one SIGKILLed mid-stream lose no message, keep per-key order within each ownership, rebalance only incrementally, and commit up to the end offsets', {
    ...needsRealBroker,
    timeout: 150_000,
  }, async (t) => {
    const s = scenario('kip848')
    await ensureTopic(cluster.bootstrapServers, s.topic, { partitions: PARTITIONS })
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 1500, keys: 100, size: 40 })
    const stream = await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, ratePerSecond: 300, keys: 100, firstIndex: 1500 })
    streams.push(stream)

    const first = await startMember(s, 'p1')
    await waitForSoleOwner(s, first, PARTITIONS, 200)

    const [second, third] = await Promise.all([startMember(s, 'p2'), startMember(s, 'p3')])
    const members = [first, second, third]
    const scaleOutMs = await waitForSplit(s.topic, members, PARTITIONS, 30_000, { intervalMs: 50 })
    const threeAt = now()
    const shares = describeOwnership(s.topic, members)
    await waitFor(
      'p2 and p3 to handle messages',
      () => {
        const records = readRecords(s.record)
        return recordsOf(records, second).length >= 50 && recordsOf(records, third).length >= 50
      },
      30_000,
      100,
    )

    const leavingAt = now()
    await stopCleanly(first)
    const leftAt = now()
    await waitForSplit(s.topic, [second, third], PARTITIONS, 30_000, { intervalMs: 50 })
    const leaveMs = now() - leavingAt
    await waitFor(
      'p2 and p3 to handle new messages of every partition',
      () => {
        const late = readRecords(s.record).filter((r) => r.start > leftAt)
        return Array.from({ length: PARTITIONS }, (_, p) => p).every((p) => late.some((r) => r.partition === p))
      },
      30_000,
      100,
    )

    const { orphaned, takeoverMs } = await killAndAwaitTakeover(s, third, second, PARTITIONS)

    await stream.stop()
    const ends = await endOffsets(cluster.bootstrapServers, s.topic, PARTITIONS)
    const expected = allMessages(ends)
    await waitFor('every message handled at least once', () => coverage(readRecords(s.record), expected).missing.length === 0, 60_000, 250)
    const stoppingAt = now()
    await stopCleanly(second)

    const records = readRecords(s.record)
    const t0 = threeAt - scaleOutMs
    const report = `shares with three members ${shares}; scale-out took ${seconds(scaleOutMs)}, p1's leave ${seconds(leaveMs)} from its SIGTERM, p3's takeover ${seconds(takeoverMs)}; rebalances (seconds from p2 and p3's start):\n${rebalanceTimelines(members, t0)}`
    assert.deepEqual(coverage(records, expected).missing, [], 'every message handled at least once')
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(s.topic, members)), [], "same-key messages in offset order, one at a time, within each member's run of a partition")
    assert.deepEqual(await committedOrZero(cluster.bootstrapServers, s.groupId, s.topic, PARTITIONS), ends, 'the committed offsets reach the end offsets')

    for (const member of members) {
      const events = rebalances(member)
      assert.ok(events.length > 0, `${member.tag} logged its rebalances`)
      assert.deepEqual(
        events.filter((e) => !e.cooperative).map((e) => `${e.kind} [${e.partitions.map((p) => p.partition).join(',')}]`),
        [],
        `${member.tag}: every rebalance ran under the cooperative (incremental) protocol`,
      )
    }
    // Incremental: a member gives up only the partitions that move, never its whole share.
    // The members that lived on kept some partitions through every rebalance until they stopped.
    assert.deepEqual(emptied(readEvents(first.events), s.topic, leavingAt), [], `p1 kept some partitions while p2 and p3 joined (${report})`)
    assert.deepEqual(emptied(readEvents(second.events), s.topic, stoppingAt), [], `p2 kept some partitions through p1's leave and p3's death (${report})`)
    // A SIGKILLed member sends no leave heartbeat: its partitions move when its session expires on the broker.
    assert.ok(takeoverMs >= 2000, `the orphaned partitions ${orphaned.join(',')} moved only once the dead member's session expired (after ${Math.round(takeoverMs)} ms)`)
    t.diagnostic(`scale-out 1 → 3 members ${seconds(scaleOutMs)}, leave on SIGTERM ${seconds(leaveMs)}, SIGKILL takeover ${seconds(takeoverMs)}`)
  })

  test('with group.protocol=consumer, kvp run refuses the settings the broker owns: exit 2 naming the key, before connecting', { timeout: 60_000 }, async () => {
    for (const setting of ['session.timeout.ms=6000', 'heartbeat.interval.ms=500', 'partition.assignment.strategy=cooperative-sticky']) {
      const key = setting.split('=')[0] as string
      // Killed after 15 s: one that starts after all must not outlive the test.
      const { code, stderr } = await runKvpToEnd(
        runArgs({
          brokers: cluster.bootstrapServers,
          group: uniqueName('g'),
          topic: uniqueName('t'),
          handler: recordingHandler,
          flags: ['--stats-interval-ms', '0'],
          kafka: ['group.protocol=consumer', setting],
        }),
        {},
        15_000,
      )
      assert.equal(code, 2, `exit 2 for ${setting}:\n${stderr}`)
      assert.ok(stderr.includes(`kafka.${key}`), `the error names kafka.${key}:\n${stderr}`)
      assert.match(stderr, /group\.protocol=consumer/, 'the error says which protocol refuses it')
    }
  })
})
