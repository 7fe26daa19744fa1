import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { VirtualKey } from '../../../src/config/options.js'
import { ConsistentDistributor } from '../../../src/partitioning/consistent.js'
import { hashKey } from '../../../src/partitioning/hash.js'

function lanesOf(distributor: ConsistentDistributor, keys: VirtualKey[]): number[] {
  const out = new Uint32Array(keys.length)
  distributor.distribute(keys, out)
  return Array.from(out)
}

describe('ConsistentDistributor', () => {
  it('needs no batch barrier', () => {
    assert.equal(new ConsistentDistributor(8).needsBarrier, false)
    assert.equal(new ConsistentDistributor(8).lanes, 8)
  })

  it('puts a key in lane hashKey(key) % lanes', () => {
    const keys = ['a', 'b', 'order-7', Buffer.from('user-1'), 99]
    assert.deepEqual(
      lanesOf(new ConsistentDistributor(16), keys),
      keys.map((key) => hashKey(key as string) % 16),
    )
  })

  it('puts the same key in the same lane in every batch, whatever its neighbours', () => {
    const distributor = new ConsistentDistributor(64)
    const first = lanesOf(distributor, ['k1', 'k2', 'k3'])
    const second = lanesOf(distributor, ['x', 'k3', 'y', 'k1', 'z', 'k2'])
    assert.deepEqual([second[3], second[5], second[1]], first)
    assert.deepEqual(lanesOf(new ConsistentDistributor(64), ['k1', 'k2', 'k3']), first, 'a new instance agrees')
  })

  it('treats a string key, its UTF-8 Buffer and a number with that decimal string alike', () => {
    const lanes = lanesOf(new ConsistentDistributor(64), ['héllo', Buffer.from('héllo'), '1234', 1234])
    assert.equal(lanes[0], lanes[1])
    assert.equal(lanes[2], lanes[3])
  })

  it('uses every lane with 1000 keys', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `customer-${i}`)
    const used = new Set(lanesOf(new ConsistentDistributor(64), keys))
    assert.equal(used.size, 64)
  })

  it('sends null and undefined keys to lane 0, so they keep their relative order', () => {
    const lanes = lanesOf(new ConsistentDistributor(8), [null, 'a', undefined, 'b', null])
    assert.equal(lanes[0], 0)
    assert.equal(lanes[2], 0)
    assert.equal(lanes[4], 0)
  })

  it("puts everything in lane 0 when there is one lane, writing only the batch's slots", () => {
    const out = new Uint32Array(5).fill(7)
    new ConsistentDistributor(1).distribute(['a', 'b', null], out)
    assert.deepEqual(Array.from(out), [0, 0, 0, 7, 7])
  })

  it('handles an empty batch', () => {
    const out = new Uint32Array(0)
    new ConsistentDistributor(4).distribute([], out)
    assert.equal(out.length, 0)
  })
})
