/**
 * Scale-out across processes: several `kvp run` processes in one consumer group, joining,
 * leaving and dying while messages stream in. Each child logs its rebalances (see
 * ../helpers/event-log-preload.ts) and the recording handler tags every record with its
 * process, so the checks say which member owned what, and when.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { produceMessages } from '../helpers/produce.js'
import { useBroker } from '../helpers/broker.js'
import { orderViolationsByRun, readEvents, streamMessages, tookEverything } from '../helpers/group.js'
import { allMessages, endOffsets, waitFor } from '../helpers/kafka.js'
import { now, scenario as newScenario, stopCleanly, useMembers } from '../helpers/members.js'
import type { Member, Scenario } from '../helpers/members.js'
import { assignsByTag, describeOwnership, killAndAwaitTakeover, ownedBy, rebalanceTimelines, recordsOf, waitForSoleOwner, waitForSplit } from '../helpers/ownership.js'
import { coverage, readRecords } from '../helpers/records.js'

const PARTITIONS = [0, 1, 2, 3]

// Members first: after hooks run in order, and the broker must outlive them.
const members = useMembers(() => cluster.bootstrapServers)
const cluster = useBroker()
const streams = members.streams
const scenario = (): Scenario => newScenario('scale')
const startMember = (s: Scenario, tag: string, extraArgs: string[] = []): Promise<Member> => members.start(s, tag, { args: extraArgs, env: { KVP_TEST_DELAY_MS: '2' } })

async function waitUntilAllHandled(s: Scenario, timeoutMs: number): Promise<Array<{ partition: number; offset: number }>> {
  const expected = allMessages(await endOffsets(cluster.bootstrapServers, s.topic))
  await waitFor('every message handled at least once', () => coverage(readRecords(s.record), expected).missing.length === 0, timeoutMs, 250)
  return expected
}

describe('scale-out across kvp run processes', () => {
  test('two kvp run processes in one group split a 4-partition topic and together handle every message', async () => {
    const s = scenario()
    // The topic must exist before the members subscribe (consumers do not create topics).
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 400, keys: 200, size: 40 })
    const members = await Promise.all([startMember(s, 'p1'), startMember(s, 'p2')])
    await waitForSplit(s.topic, members, PARTITIONS.length, 40_000)
    const splitAt = now()
    const shares = members.map((m) => ownedBy(s.topic, m))
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 4000, keys: 200, size: 40 })
    const expected = await waitUntilAllHandled(s, 60_000)
    for (const member of members) await stopCleanly(member)

    const records = readRecords(s.record)
    assert.deepEqual(coverage(records, expected).missing, [], 'every message handled')
    members.forEach((member, i) => {
      const share = shares[i] as Set<number>
      const mine = recordsOf(records, member).filter((r) => r.start > splitAt)
      assert.ok(mine.length > 0, `${member.tag} handled messages after the split (${describeOwnership(s.topic, members)})`)
      const outside = mine.filter((r) => !share.has(r.partition))
      assert.deepEqual(
        outside.slice(0, 5).map((r) => `${r.partition}:${r.offset}`),
        [],
        `${member.tag} handled only its share [${[...share].join(',')}]`,
      )
    })
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(s.topic, members)), [], 'each member handled only partitions it was assigned, keys in order')
  })

  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    test(`a member joining mid-stream and the first member leaving on SIGTERM lose no message and keep per-key order within each member's run of a partition (${strategy})`, async () => {
      const s = scenario()
      const strategyArgs = ['-X', `partition.assignment.strategy=${strategy}`]
      await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 2000, keys: 100, size: 40 })
      const stream = await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, ratePerSecond: 400, keys: 100, firstIndex: 2000 })
      streams.push(stream)

      const first = await startMember(s, 'p1', strategyArgs)
      await waitForSoleOwner(s, first, PARTITIONS.length, 200)

      const second = await startMember(s, 'p2', strategyArgs)
      const joinedAt = now()
      await waitForSplit(s.topic, [first, second], PARTITIONS.length, 30_000, { until: () => recordsOf(readRecords(s.record), second).length >= 50 })
      const shared = describeOwnership(s.topic, [first, second])
      // A live member must let go and rejoin within the coordinator's join window
      // (session.timeout.ms - 1 s on the embedded cluster); one still in its revoke handler
      // when the window closes is left out, and the other member gets every partition
      // (until the next rebalance turns the tables).
      const grabs = [first, second].flatMap((m) => tookEverything(readEvents(m.events), s.topic, joinedAt, PARTITIONS.length).map((t) => `${m.tag} at +${((t - joinedAt) / 1000).toFixed(1)}s`))
      assert.deepEqual(
        grabs,
        [],
        `while both members were alive no rebalance handed every partition to one of them; rebalances (seconds from p2's start):\n${rebalanceTimelines([first, second], joinedAt)}`,
      )

      await stopCleanly(first)
      const leftAt = now()
      await waitFor('p2 to own every partition after p1 left', () => ownedBy(s.topic, second).size === 4, 30_000, 100)
      await waitFor(
        'p2 to handle new messages of every partition',
        () => {
          const late = recordsOf(readRecords(s.record), second).filter((r) => r.start > leftAt)
          return PARTITIONS.every((p) => late.some((r) => r.partition === p))
        },
        30_000,
        100,
      )

      await stream.stop()
      const expected = await waitUntilAllHandled(s, 60_000)
      await stopCleanly(second)

      const records = readRecords(s.record)
      assert.deepEqual(coverage(records, expected).missing, [], 'every message handled at least once')
      assert.ok(
        recordsOf(records, second).some((r) => r.start < leftAt),
        `p2 handled messages while both were members (${shared})`,
      )
      assert.deepEqual(orderViolationsByRun(records, assignsByTag(s.topic, [first, second])), [], "same-key messages in offset order, one at a time, within each member's run of a partition")
    })
  }

  test('when one of two members is killed with SIGKILL mid-stream, the survivor takes its partitions after the session timeout and every message is handled at least once', async () => {
    const s = scenario()
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 1000, keys: 100, size: 40 })
    const stream = await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, ratePerSecond: 400, keys: 100, firstIndex: 1000 })
    streams.push(stream)
    const [survivor, victim] = await Promise.all([startMember(s, 'survivor'), startMember(s, 'victim')])
    await waitForSplit(s.topic, [survivor, victim], PARTITIONS.length, 40_000)
    const splitAt = now()
    await waitFor(
      'both members to handle messages after the split',
      () => {
        const records = readRecords(s.record).filter((r) => r.start > splitAt)
        return recordsOf(records, survivor).length >= 100 && recordsOf(records, victim).length >= 100
      },
      30_000,
      100,
    )

    const { orphaned, takeoverMs } = await killAndAwaitTakeover(s, victim, survivor, PARTITIONS.length)

    await stream.stop()
    const expected = await waitUntilAllHandled(s, 60_000)
    await stopCleanly(survivor)

    const records = readRecords(s.record)
    assert.deepEqual(coverage(records, expected).missing, [], 'every message handled at least once')
    // A SIGKILLed member sends no LeaveGroup: the coordinator notices only when its session expires.
    assert.ok(takeoverMs >= 2000, `the orphaned partitions ${orphaned.join(',')} moved only once the dead member's session expired (after ${Math.round(takeoverMs)} ms)`)
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(s.topic, [survivor, victim])), [], "same-key messages in offset order within each member's run of a partition")
  })
})
