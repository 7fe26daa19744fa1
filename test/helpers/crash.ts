/**
 * What a crash test proves about commits: the offsets the group had committed when a member
 * was killed were safe (above the start, and never past a message that was not handled), and
 * the restart replayed only what was above them.
 */
import { strict as assert } from 'node:assert'

/** A handled message, a produced output's source, or a record: a partition and an offset. */
export interface Handled {
  partition: number
  offset: number
}

/**
 * The committed offsets at a kill are safe: every partition committed something (commits
 * happened before the kill: nothing is 'none' or 0), and every offset below a partition's
 * committed offset is among `handled` (the commit never passed a message whose handler had
 * not finished). `when` names the reading in the messages.
 */
export function assertSafeCommits(committed: readonly number[], handled: Iterable<Handled>, when: string): void {
  const done = offsetsByPartition(handled)
  committed.forEach((offset, partition) => {
    assert.ok(offset > 0, `${when}: partition ${partition} has committed ${offset}; commits happened before the kill`)
  })
  const unhandled: string[] = []
  committed.forEach((offset, partition) => {
    const mine = done.get(partition) ?? new Set<number>()
    for (let o = 0; o < offset; o++) if (!mine.has(o)) unhandled.push(`${partition}:${o}`)
  })
  assert.deepEqual(unhandled.slice(0, 20), [], `${when}: ${unhandled.length} offsets below the committed offsets ${JSON.stringify(committed)} were never handled`)
}

/**
 * Replays after a restart are bounded by what was above the committed offsets at the kill
 * (read once the killed member was dead: where the restart starts): every message handled
 * more than once in `all` was handled before the kill at or above its partition's committed
 * offset, and the repeated handlings number no more than the handlings before the kill at or
 * above those offsets. Returns both counts for a diagnostic.
 */
export function assertReplaysBounded(all: readonly Handled[], beforeKill: readonly Handled[], committedAtKill: readonly number[]): { replayed: number; bound: number } {
  const above = (h: Handled): boolean => h.offset >= (committedAtKill[h.partition] ?? 0)
  const times = new Map<string, number>()
  for (const h of all) times.set(`${h.partition}:${h.offset}`, (times.get(`${h.partition}:${h.offset}`) ?? 0) + 1)
  const replayable = new Set(beforeKill.filter(above).map((h) => `${h.partition}:${h.offset}`))
  const outside = [...times].filter(([id, n]) => n > 1 && !replayable.has(id)).map(([id, n]) => `${id} ×${n}`)
  assert.deepEqual(outside.slice(0, 20), [], `${outside.length} messages ran again that were not handled above the committed offsets ${JSON.stringify(committedAtKill)} before the kill`)
  const replayed = all.length - times.size
  const bound = beforeKill.filter(above).length
  assert.ok(replayed <= bound, `${replayed} repeated handlings; at most ${bound} were handled above the committed offsets before the kill`)
  return { replayed, bound }
}

/** `<partition>:<offset>` (a produced output's value) as a partition and offset. */
export function sourceOf(value: string | null): Handled {
  const [partition, offset] = (value ?? '').split(':').map(Number)
  return { partition: partition as number, offset: offset as number }
}

function offsetsByPartition(handled: Iterable<Handled>): Map<number, Set<number>> {
  const byPartition = new Map<number, Set<number>>()
  for (const { partition, offset } of handled) {
    let set = byPartition.get(partition)
    if (!set) {
      set = new Set()
      byPartition.set(partition, set)
    }
    set.add(offset)
  }
  return byPartition
}
