/**
 * Which member of a group owns which partitions of a topic, read from the members' event
 * logs (./event-log-preload.ts): whether they split the topic, what each owns and how it
 * got there (for failure messages), and a survivor taking over a killed member's partitions.
 */
import { strict as assert } from 'node:assert'
import { assignTimes, ownedPartitions, readEvents, rebalanceTimeline } from './group.js'
import { waitFor } from './kafka.js'
import { now } from './members.js'
import type { Member, Scenario } from './members.js'
import { readRecords } from './records.js'
import type { HandledRecord } from './records.js'

/** The partitions of `topic` the member owns after its rebalances so far. */
export function ownedBy(topic: string, member: Member): Set<number> {
  return ownedPartitions(readEvents(member.events), topic)
}

/** The records the member handled (those with its tag). */
export function recordsOf(records: HandledRecord[], member: Member): HandledRecord[] {
  return records.filter((r) => r.tag === member.tag)
}

/** Each member's assignments of `topic` by tag, as `orderViolationsByRun` takes them. */
export function assignsByTag(topic: string, members: Member[]): Map<string, Array<{ partition: number; at: number }>> {
  return new Map(members.map((m) => [m.tag, assignTimes(readEvents(m.events), topic)]))
}

/** True when the members' assignments of `topic` are disjoint, each non-empty, and cover all `partitions`. */
export function splitsPartitions(topic: string, members: Member[], partitions: number): boolean {
  const all = new Set<number>()
  let total = 0
  for (const member of members) {
    const set = ownedBy(topic, member)
    if (set.size === 0) return false
    total += set.size
    for (const p of set) all.add(p)
  }
  return total === partitions && all.size === partitions
}

/** What each member owns now, as `p1=[0,2] p2=[1,3]`. */
export function describeOwnership(topic: string, members: Member[]): string {
  return members.map((m) => `${m.tag}=[${[...ownedBy(topic, m)].sort((a, b) => a - b).join(',')}]`).join(' ')
}

/** Each member's rebalances and revoke-time commits, one indented block a member, times in seconds from `t0`. */
export function rebalanceTimelines(members: Member[], t0: number): string {
  return members
    .map(
      (m) =>
        `  ${m.tag}:\n${rebalanceTimeline(readEvents(m.events), t0)
          .map((line) => `    ${line}`)
          .join('\n')}`,
    )
    .join('\n')
}

export interface SplitWait {
  /** A further condition the wait needs along with the split. */
  until?: () => boolean
  /** How often to look (default 100 ms). */
  intervalMs?: number
}

/**
 * Waits until the members split the `partitions` of `topic` (and `until` holds); resolves with
 * how long that took. On timeout it fails with what each member owns and each one's
 * rebalances since the wait began, which show why not.
 */
export async function waitForSplit(topic: string, members: Member[], partitions: number, timeoutMs: number, options: SplitWait = {}): Promise<number> {
  const t0 = now()
  const until = options.until ?? (() => true)
  try {
    await waitFor('the members to split the partitions', () => splitsPartitions(topic, members, partitions) && until(), timeoutMs, options.intervalMs ?? 100)
  } catch {
    assert.fail(
      `the members did not settle into a split of the ${partitions} partitions within ${timeoutMs} ms (now ${describeOwnership(topic, members)}); rebalances (seconds from the start of the wait):\n${rebalanceTimelines(members, t0)}`,
    )
  }
  return now() - t0
}

/** Waits until the member owns all `partitions` of the scenario's topic and has handled at least `handled` messages. */
export async function waitForSoleOwner(s: Scenario, member: Member, partitions: number, handled: number): Promise<void> {
  await waitFor(
    `${member.tag} to own every partition and handle messages`,
    () => ownedBy(s.topic, member).size === partitions && recordsOf(readRecords(s.record), member).length >= handled,
    30_000,
    100,
  )
}

export interface Takeover {
  /** The partitions the victim owned when it was killed. */
  orphaned: number[]
  /** When the victim was dead. */
  killedAt: number
  /** From the kill to the survivor's last assignment of an orphaned partition. */
  takeoverMs: number
}

/**
 * Kills `victim` with SIGKILL mid-stream, then waits until `survivor` owns all `partitions`
 * of the scenario's topic (45 s) and has handled new messages of every partition the victim
 * owned (30 s).
 */
export async function killAndAwaitTakeover(s: Scenario, victim: Member, survivor: Member, partitions: number): Promise<Takeover> {
  const orphaned = [...ownedBy(s.topic, victim)]
  victim.proc.child.kill('SIGKILL')
  assert.equal(await victim.proc.exited, 'SIGKILL')
  const killedAt = now()
  await waitFor(`${survivor.tag} to own every partition after ${victim.tag} died`, () => ownedBy(s.topic, survivor).size === partitions, 45_000, 100)
  const takeover = assignTimes(readEvents(survivor.events), s.topic).filter((a) => a.at > killedAt && orphaned.includes(a.partition))
  const takeoverMs = Math.max(...takeover.map((a) => a.at)) - killedAt
  await waitFor(
    `${survivor.tag} to handle new messages of the orphaned partitions`,
    () => {
      const late = recordsOf(readRecords(s.record), survivor).filter((r) => r.start > killedAt)
      return orphaned.every((p) => late.some((r) => r.partition === p))
    },
    30_000,
    100,
  )
  return { orphaned, killedAt, takeoverMs }
}
