import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { hashKey } from '../../../src/partitioning/hash.js'

/** Kafka's default partitioner hash, for the test that lanes do not follow it. */
function kafkaMurmur2(data: Uint8Array): number {
  const m = 0x5bd1e995
  const length = data.length
  let h = 0x9747b28c ^ length
  const length4 = length & ~3
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = length & 3
  if (rest === 3) h ^= (data[length4 + 2] as number) << 16
  if (rest >= 2) h ^= (data[length4 + 1] as number) << 8
  if (rest >= 1) h = Math.imul(h ^ (data[length4] as number), m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h
}

describe('hashKey', () => {
  it('gives fixed values (FNV-1a 32 then fmix32), so lanes never move between releases', () => {
    const known: Array<[string, number]> = [
      ['', 0xab3e7c0b],
      ['a', 0x1a80b1b3],
      ['foobar', 0x0c0da6dc],
      ['order-42', 0x2e7b68d7],
      ['héllo', 0xfa3f8bad],
      ['日本', 0xf004911f],
    ]
    for (const [key, value] of known) assert.equal(hashKey(key), value, JSON.stringify(key))
  })

  it('hashes a string as its UTF-8 bytes: string, Buffer and Uint8Array agree', () => {
    for (const key of ['', 'a', 'user-12345', 'héllo wörld', '日本語のキー', '😀 emoji', 'x'.repeat(1000)]) {
      const buffer = Buffer.from(key, 'utf8')
      assert.equal(hashKey(buffer), hashKey(key), JSON.stringify(key))
      assert.equal(hashKey(new Uint8Array(buffer)), hashKey(key))
    }
  })

  it('hashes a view by its own bytes only (a Buffer sliced out of a larger one)', () => {
    const big = Buffer.from('prefix-the-key-suffix')
    assert.equal(hashKey(big.subarray(7, 14)), hashKey('the-key'))
  })

  it('hashes a number as its decimal string', () => {
    assert.equal(hashKey(42), hashKey('42'))
    assert.equal(hashKey(0), hashKey('0'))
    assert.equal(hashKey(-7), hashKey('-7'))
    assert.equal(hashKey(1.5), hashKey('1.5'))
    assert.equal(hashKey(12345678901234), hashKey(Buffer.from('12345678901234')))
  })

  it('returns an unsigned 32-bit integer', () => {
    for (let i = 0; i < 1000; i++) {
      const value = hashKey(`key-${i}`)
      assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, String(value))
    }
  })

  it('spreads keys evenly over 64 lanes', () => {
    const counts = new Array<number>(64).fill(0)
    for (let i = 0; i < 64_000; i++) {
      const lane = hashKey(`user-${i}`) % 64
      counts[lane] = (counts[lane] as number) + 1
    }
    for (const count of counts) assert.ok(count > 800 && count < 1200, `lane count ${count}`)
  })

  it('uses every lane for the keys a Kafka producer routed to one partition', () => {
    // The reference murmur2 matches Kafka's own test vectors.
    assert.equal(kafkaMurmur2(Buffer.from('21')), -973932308)
    assert.equal(kafkaMurmur2(Buffer.from('foobar')), -790332482)
    assert.equal(kafkaMurmur2(Buffer.from('a-little-bit-long-string')), -985981536)
    assert.equal(kafkaMurmur2(Buffer.from('a-little-bit-longer-string')), -1486304829)
    assert.equal(kafkaMurmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971)
    assert.equal(kafkaMurmur2(Buffer.from('abc')), 479470107)

    const lanes = new Set<number>()
    for (let i = 0; lanes.size < 64 && i < 20_000; i++) {
      const key = Buffer.from(`order-${i}`)
      if ((kafkaMurmur2(key) & 0x7fffffff) % 4 !== 0) continue // not in partition 0
      lanes.add(hashKey(key) % 64)
    }
    assert.equal(lanes.size, 64)
  })
})
