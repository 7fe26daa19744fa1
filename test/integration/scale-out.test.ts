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
import { assignTimes, orderViolationsByRun, ownedPartitions, readEvents, rebalanceTimeline, stopProcess, streamMessages, tookEverything } from '../helpers/group.js'
import { allMessages, endOffsets, waitFor } from '../helpers/kafka.js'
import { now, scenario as newScenario, useMembers } from '../helpers/members.js'
import type { Member, Scenario } from '../helpers/members.js'
import { coverage, readRecords } from '../helpers/records.js'
import type { HandledRecord } from '../helpers/records.js'

const PARTITIONS = [0, 1, 2, 3]

// Members first: after hooks run in order, and the broker must outlive them.
const members = useMembers(() => cluster.bootstrapServers)
const cluster = useBroker()
const streams = members.streams
const scenario = (): Scenario => newScenario('scale')
const startMember = (s: Scenario, tag: string, extraArgs: string[] = []): Promise<Member> => members.start(s, tag, { args: extraArgs, env: { KVP_TEST_DELAY_MS: '2' } })

const owned = (s: Scenario, member: Member): Set<number> => ownedPartitions(readEvents(member.events), s.topic)
const recordsOf = (records: HandledRecord[], member: Member): HandledRecord[] => records.filter((r) => r.tag === member.tag)
const assignsByTag = (s: Scenario, members: Member[]): Map<string, Array<{ partition: number; at: number }>> => new Map(members.map((m) => [m.tag, assignTimes(readEvents(m.events), s.topic)]))

/** True when the members' assignments are disjoint, each non-empty, and cover every partition. */
function split(s: Scenario, members: Member[]): boolean {
  const sets = members.map((m) => owned(s, m))
  const all = new Set<number>()
  let total = 0
  for (const set of sets) {
    if (set.size === 0) return false
    total += set.size
    for (const p of set) all.add(p)
  }
  return total === PARTITIONS.length && all.size === PARTITIONS.length
}

/**
 * Waits until the members split the partitions; on timeout fails with each member's
 * rebalance timeline (assignments, revokes, revoke-time commits), which shows why not.
 */
async function waitForSplit(s: Scenario, members: Member[], timeoutMs: number, extra: () => boolean = () => true): Promise<void> {
  const t0 = now()
  try {
    await waitFor('the members to split the partitions', () => split(s, members) && extra(), timeoutMs, 100)
  } catch {
    const timelines = members
      .map(
        (m) =>
          `  ${m.tag}:\n${rebalanceTimeline(readEvents(m.events), t0)
            .map((line) => `    ${line}`)
            .join('\n')}`,
      )
      .join('\n')
    assert.fail(
      `the members did not settle into a split of the partitions within ${timeoutMs} ms (now ${describeOwnership(s, members)}); rebalances (seconds from the start of the wait):\n${timelines}`,
    )
  }
}

function describeOwnership(s: Scenario, members: Member[]): string {
  return members.map((m) => `${m.tag}=[${[...owned(s, m)].sort().join(',')}]`).join(' ')
}

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
    await waitForSplit(s, members, 40_000)
    const splitAt = now()
    const shares = members.map((m) => owned(s, m))
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 4000, keys: 200, size: 40 })
    const expected = await waitUntilAllHandled(s, 60_000)
    for (const member of members) assert.equal(await stopProcess(member.proc, 'SIGTERM'), 0, `${member.tag} stops cleanly on SIGTERM:\n${member.proc.output()}`)

    const records = readRecords(s.record)
    assert.deepEqual(coverage(records, expected).missing, [], 'every message handled')
    members.forEach((member, i) => {
      const share = shares[i] as Set<number>
      const mine = recordsOf(records, member).filter((r) => r.start > splitAt)
      assert.ok(mine.length > 0, `${member.tag} handled messages after the split (${describeOwnership(s, members)})`)
      const outside = mine.filter((r) => !share.has(r.partition))
      assert.deepEqual(
        outside.slice(0, 5).map((r) => `${r.partition}:${r.offset}`),
        [],
        `${member.tag} handled only its share [${[...share].join(',')}]`,
      )
    })
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(s, members)), [], 'each member handled only partitions it was assigned, keys in order')
  })

  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    test(`a member joining mid-stream and the first member leaving on SIGTERM lose no message and keep per-key order within each member's run of a partition (${strategy})`, async () => {
      const s = scenario()
      const strategyArgs = ['-X', `partition.assignment.strategy=${strategy}`]
      await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 2000, keys: 100, size: 40 })
      const stream = await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, ratePerSecond: 400, keys: 100, firstIndex: 2000 })
      streams.push(stream)

      const first = await startMember(s, 'p1', strategyArgs)
      await waitFor('p1 to own every partition and handle messages', () => owned(s, first).size === 4 && recordsOf(readRecords(s.record), first).length >= 200, 30_000, 100)

      const second = await startMember(s, 'p2', strategyArgs)
      const joinedAt = now()
      await waitForSplit(s, [first, second], 30_000, () => recordsOf(readRecords(s.record), second).length >= 50)
      const shared = describeOwnership(s, [first, second])
      // A live member must let go and rejoin within the coordinator's join window
      // (session.timeout.ms - 1 s on the embedded cluster); one still in its revoke handler
      // when the window closes is left out, and the other member gets every partition
      // (until the next rebalance turns the tables).
      const grabs = [first, second].flatMap((m) => tookEverything(readEvents(m.events), s.topic, joinedAt, PARTITIONS.length).map((t) => `${m.tag} at +${((t - joinedAt) / 1000).toFixed(1)}s`))
      assert.deepEqual(
        grabs,
        [],
        `while both members were alive no rebalance handed every partition to one of them; rebalances (seconds from p2's start):\n${[first, second]
          .map(
            (m) =>
              `  ${m.tag}:\n${rebalanceTimeline(readEvents(m.events), joinedAt)
                .map((line) => `    ${line}`)
                .join('\n')}`,
          )
          .join('\n')}`,
      )

      assert.equal(await stopProcess(first.proc, 'SIGTERM'), 0, `p1 stops cleanly on SIGTERM:\n${first.proc.output()}`)
      const leftAt = now()
      await waitFor('p2 to own every partition after p1 left', () => owned(s, second).size === 4, 30_000, 100)
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
      assert.equal(await stopProcess(second.proc, 'SIGTERM'), 0, `p2 stops cleanly on SIGTERM:\n${second.proc.output()}`)

      const records = readRecords(s.record)
      assert.deepEqual(coverage(records, expected).missing, [], 'every message handled at least once')
      assert.ok(
        recordsOf(records, second).some((r) => r.start < leftAt),
        `p2 handled messages while both were members (${shared})`,
      )
      assert.deepEqual(orderViolationsByRun(records, assignsByTag(s, [first, second])), [], "same-key messages in offset order, one at a time, within each member's run of a partition")
    })
  }

  test('when one of two members is killed with SIGKILL mid-stream, the survivor takes its partitions after the session timeout and every message is handled at least once', async () => {
    const s = scenario()
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, count: 1000, keys: 100, size: 40 })
    const stream = await streamMessages({ bootstrapServers: cluster.bootstrapServers, topic: s.topic, ratePerSecond: 400, keys: 100, firstIndex: 1000 })
    streams.push(stream)
    const [survivor, victim] = await Promise.all([startMember(s, 'survivor'), startMember(s, 'victim')])
    await waitForSplit(s, [survivor, victim], 40_000)
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

    const orphaned = [...owned(s, victim)]
    victim.proc.child.kill('SIGKILL')
    assert.equal(await victim.proc.exited, 'SIGKILL')
    const killedAt = now()

    await waitFor('the survivor to own every partition', () => owned(s, survivor).size === 4, 45_000, 100)
    const takeover = assignTimes(readEvents(survivor.events), s.topic).filter((a) => a.at > killedAt && orphaned.includes(a.partition))
    const takeoverMs = Math.max(...takeover.map((a) => a.at)) - killedAt
    await waitFor(
      'the survivor to handle new messages of the orphaned partitions',
      () => {
        const late = recordsOf(readRecords(s.record), survivor).filter((r) => r.start > killedAt)
        return orphaned.every((p) => late.some((r) => r.partition === p))
      },
      30_000,
      100,
    )

    await stream.stop()
    const expected = await waitUntilAllHandled(s, 60_000)
    assert.equal(await stopProcess(survivor.proc, 'SIGTERM'), 0, `the survivor stops cleanly on SIGTERM:\n${survivor.proc.output()}`)

    const records = readRecords(s.record)
    assert.deepEqual(coverage(records, expected).missing, [], 'every message handled at least once')
    // A SIGKILLed member sends no LeaveGroup: the coordinator notices only when its session expires.
    assert.ok(takeoverMs >= 2000, `the orphaned partitions ${orphaned.join(',')} moved only once the dead member's session expired (after ${Math.round(takeoverMs)} ms)`)
    assert.deepEqual(orderViolationsByRun(records, assignsByTag(s, [survivor, victim])), [], "same-key messages in offset order within each member's run of a partition")
  })
})
