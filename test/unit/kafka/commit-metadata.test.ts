import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { CommitMetadata } from '../../../src/kafka/commit-metadata.js'
import type { DoneAbove } from '../../../src/kafka/commit-metadata.js'
import { decodeOffsetMap } from '../../../src/offsets/offset-map.js'

function partition(done: number[]): DoneAbove & { calls: number; done: number[] } {
  const fake = {
    calls: 0,
    done,
    get doneAboveCount() {
      return fake.done.length
    },
    doneAbove() {
      fake.calls++
      return [...fake.done]
    },
  }
  return fake
}

test('the metadata is an offset map of the done offsets above the watermark that decodes back against the committed offset', () => {
  const metadata = new CommitMetadata(4096)
  const text = metadata.for(partition([101, 102, 150]), 100)
  assert.ok(text)
  const { map, problem } = decodeOffsetMap(text, 100)
  assert.equal(problem, undefined)
  assert.deepEqual(map?.done, [101, 102, 150])
})

test('nothing done above the watermark, or maps turned off (0 bytes): no metadata', () => {
  assert.equal(new CommitMetadata(4096).for(partition([]), 7), undefined)
  assert.equal(new CommitMetadata(0).for(partition([8, 9]), 7), undefined)
  assert.equal(new CommitMetadata(0).enabled, false)
})

test('encoded once per change: the same watermark and count reuse the text; a new ack or a moved watermark encodes again', () => {
  const metadata = new CommitMetadata(4096)
  const p = partition([11, 12])
  const first = metadata.for(p, 10)
  assert.equal(metadata.for(p, 10), first)
  assert.equal(p.calls, 1)
  p.done.push(14)
  assert.notEqual(metadata.for(p, 10), first)
  assert.equal(p.calls, 2)
  p.done = [14]
  assert.ok(metadata.for(p, 13))
  assert.equal(p.calls, 3)
})

test('within the byte limit: a map too large keeps the longest prefix that fits', () => {
  // A random half done (deflate finds no pattern), over 40,000 offsets.
  let seed = 7
  const done = Array.from({ length: 40_000 }, (_, i) => 1001 + i).filter(() => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return ((seed >> 16) & 1) === 0
  })
  const text = new CommitMetadata(512).for(partition(done), 1000)
  assert.ok(text && text.length <= 512)
  const { map } = decodeOffsetMap(text, 1000)
  assert.ok(map && map.done.length > 0 && map.done.length < done.length)
  assert.deepEqual(map.done, done.slice(0, map.done.length))
})
