/**
 * Slice drains over stand-in partitions (plain strings): what each drain waits for, and
 * when it wakes.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { SliceDrain } from '../../../src/dispatch/slice-drain.js'

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** The drain's outcome so far: undefined while it waits. */
function watch(drain: Promise<boolean>): { outcome: boolean | undefined } {
  const seen: { outcome: boolean | undefined } = { outcome: undefined }
  void drain.then((outcome) => {
    seen.outcome = outcome
  })
  return seen
}

describe('SliceDrain', () => {
  test('nothing in flight: a drain resolves true at once', async () => {
    const drains = new SliceDrain<string>()
    assert.equal(await drains.drain(10), true)
    assert.equal(await drains.drain(10, ['a']), true)
    drains.started('a')
    drains.ended('a')
    assert.equal(await drains.drain(10, ['a']), true, 'a slice that ended is not in flight')
  })

  test("a drain of some partitions waits for their last slice only, not for other partitions' slices", async () => {
    const drains = new SliceDrain<string>()
    drains.started('a')
    drains.started('a')
    drains.started('b')
    const mine = watch(drains.drain(5_000, ['a']))
    drains.ended('b')
    drains.ended('a')
    await tick()
    assert.equal(mine.outcome, undefined, "another partition's slice and one of two of its own do not end it")
    drains.ended('a')
    await tick()
    assert.equal(mine.outcome, true)
  })

  test('a drain of every partition waits for those with slices in flight when it was asked', async () => {
    const drains = new SliceDrain<string>()
    drains.started('a')
    drains.started('b')
    const all = watch(drains.drain(5_000))
    drains.ended('a')
    drains.started('c')
    await tick()
    assert.equal(all.outcome, undefined, 'b is still in flight')
    drains.ended('b')
    await tick()
    assert.equal(all.outcome, true, 'c started after the drain was asked for')
  })

  test('a drain resolves false after its timeout and is forgotten; a later end wakes the drains still waiting', async () => {
    const drains = new SliceDrain<string>()
    drains.started('a')
    assert.equal(await drains.drain(20, ['a']), false)
    const next = watch(drains.drain(5_000, ['a']))
    drains.ended('a')
    await tick()
    assert.equal(next.outcome, true, 'only the waiting drain wakes')
  })
})
