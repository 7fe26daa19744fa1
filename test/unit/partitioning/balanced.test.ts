import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { VirtualKey } from '../../../src/config/options.js'
import { BalancedDistributor } from '../../../src/partitioning/balanced.js'
import { random } from '../../helpers/random.js'

function distribute(distributor: BalancedDistributor, keys: VirtualKey[]): number[] {
  const out = new Uint32Array(keys.length)
  distributor.distribute(keys, out)
  return Array.from(out)
}

function loads(lanes: number[], laneCount: number): number[] {
  const result = new Array<number>(laneCount).fill(0)
  for (const lane of lanes) result[lane] = (result[lane] as number) + 1
  return result
}

/** Asserts no key is split across lanes; returns key -> lane. */
function assertKeysWhole(keys: VirtualKey[], lanes: number[]): Map<string, number> {
  const laneOfKey = new Map<string, number>()
  keys.forEach((key, i) => {
    if (key === null || key === undefined) return
    const id = typeof key === 'string' ? key : String(key)
    const lane = lanes[i] as number
    const seen = laneOfKey.get(id)
    if (seen === undefined) laneOfKey.set(id, lane)
    else assert.equal(lane, seen, `key ${id} split across lanes ${seen} and ${lane}`)
  })
  return laneOfKey
}

describe('BalancedDistributor', () => {
  it('needs a batch barrier, since a key may change lanes between batches', () => {
    assert.equal(new BalancedDistributor(8).needsBarrier, true)
  })

  it('spreads a skewed batch (one key with half the messages) as evenly as possible', () => {
    const next = random(1)
    const keys: string[] = []
    for (let i = 0; i < 999; i++) keys.push(`cold-${i}`)
    for (let i = 0; i < 999; i++) keys.splice(Math.floor(next() * (keys.length + 1)), 0, 'hot')
    const laneCount = 8
    const lanes = distribute(new BalancedDistributor(laneCount), keys)
    assertKeysWhole(keys, lanes)
    const perLane = loads(lanes, laneCount)
    // The hot key cannot be split, so the best max load is its size: 999.
    assert.equal(Math.max(...perLane), 999)
    // The 999 other keys fill the other 7 lanes evenly (142 or 143 each).
    const others = perLane.filter((load) => load !== 999)
    assert.equal(others.length, 7)
    assert.ok(Math.max(...others) - Math.min(...others) <= 1, `other lanes ${others.join(',')}`)
  })

  it('comes within one largest group of the ideal on mixed group sizes', () => {
    const next = random(2)
    const keys: string[] = []
    for (let k = 0; k < 300; k++) {
      const size = 1 + Math.floor(next() ** 3 * 40)
      for (let i = 0; i < size; i++) keys.push(`key-${k}`)
    }
    for (let i = keys.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      ;[keys[i], keys[j]] = [keys[j] as string, keys[i] as string]
    }
    const laneCount = 16
    const lanes = distribute(new BalancedDistributor(laneCount), keys)
    assertKeysWhole(keys, lanes)
    const perLane = loads(lanes, laneCount)
    const ideal = Math.ceil(keys.length / laneCount)
    assert.ok(Math.max(...perLane) <= ideal + 40, `max ${Math.max(...perLane)}, ideal ${ideal}`)
    assert.ok(Math.min(...perLane) >= ideal - 40, `min ${Math.min(...perLane)}, ideal ${ideal}`)
  })

  it('never splits a key across lanes within a batch', () => {
    const next = random(3)
    const keys: VirtualKey[] = Array.from({ length: 5000 }, () => `k${Math.floor(next() * 200)}`)
    assertKeysWhole(keys, distribute(new BalancedDistributor(32), keys))
  })

  it('groups a Buffer key with the string of the same bytes, and a number with its decimal string', () => {
    const keys: VirtualKey[] = ['abc', Buffer.from('abc'), 'x', 'y', 'z', '7', 7, Buffer.from('7')]
    const lanes = distribute(new BalancedDistributor(8), keys)
    assert.equal(lanes[1], lanes[0])
    assert.equal(lanes[6], lanes[5])
    assert.equal(lanes[7], lanes[5])
  })

  it('is deterministic: the same batch gives the same lanes, on this instance or another', () => {
    const next = random(4)
    const keys: VirtualKey[] = Array.from({ length: 2000 }, () => (next() < 0.1 ? null : `k${Math.floor(next() * 300)}`))
    const distributor = new BalancedDistributor(16)
    const first = distribute(distributor, keys)
    distribute(distributor, ['other', 'batch', null])
    assert.deepEqual(distribute(distributor, keys), first)
    assert.deepEqual(distribute(new BalancedDistributor(16), keys), first)
  })

  it('takes larger groups first, ties by first offset, each to the least-loaded lane (lower lane on ties)', () => {
    // Groups: b (3 messages), a (2), c (2, first seen after a), d (1).
    const keys = ['a', 'b', 'c', 'b', 'a', 'b', 'c', 'd']
    assert.deepEqual(distribute(new BalancedDistributor(3), keys), [1, 0, 2, 0, 1, 0, 2, 1])
  })

  it('spreads null-keyed messages, each as a group of its own', () => {
    const keys: VirtualKey[] = [null, null, undefined, null, 'a', 'a']
    const lanes = distribute(new BalancedDistributor(4), keys)
    // 'a' (2 messages) takes lane 0; the null keys fill lanes 1, 2 and 3, then lane 1 again.
    assert.deepEqual(lanes, [1, 2, 3, 1, 0, 0])
  })

  it('puts everything in lane 0 when there is one lane', () => {
    const out = new Uint32Array(4).fill(9)
    new BalancedDistributor(1).distribute(['a', 'b', null], out)
    assert.deepEqual(Array.from(out), [0, 0, 0, 9])
  })

  it('handles empty batches and batches larger than any before (scratch space grows)', () => {
    const distributor = new BalancedDistributor(4)
    distributor.distribute([], new Uint32Array(0))
    for (const size of [3, 100, 10_000, 5]) {
      const keys = Array.from({ length: size }, (_, i) => `k${i % 37}`)
      const lanes = distribute(distributor, keys)
      assertKeysWhole(keys, lanes)
      assert.ok(lanes.every((lane) => lane < 4))
    }
  })

  it('writes lanes into a lanesOut longer than the batch without touching the rest', () => {
    const out = new Uint32Array(6).fill(99)
    new BalancedDistributor(2).distribute(['a', 'b'], out)
    assert.deepEqual(Array.from(out), [0, 1, 99, 99, 99, 99])
  })
})
