import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { decodeOffsetMap, encodeOffsetMap, OFFSET_MAP_PREFIX } from '../../../src/offsets/offset-map.js'

function roundTrip(watermark: number, done: number[], maxChars?: number) {
  const encoded = encodeOffsetMap(watermark, done, maxChars)
  assert.ok(encoded)
  const { map, problem } = decodeOffsetMap(encoded.text, watermark)
  assert.equal(problem, undefined)
  assert.ok(map)
  return { encoded, map }
}

test('the done offsets above the watermark survive the round trip exactly', () => {
  const done = [1001, 1002, 1003, 1007, 1500, 1501, 99_999]
  const { map, encoded } = roundTrip(1000, done)
  assert.deepEqual(map.done, done)
  assert.equal(map.watermark, 1000)
  assert.equal(encoded.coveredUntil, 100_000)
  assert.ok(encoded.text.startsWith(OFFSET_MAP_PREFIX))
})

test('nothing done above the watermark needs no metadata', () => {
  assert.equal(encodeOffsetMap(10, []), undefined)
  assert.equal(encodeOffsetMap(10, [3, 10]), undefined)
})

test('a dense map (a slow key holding back 11,594 done messages) fits in a few bytes', () => {
  const done = Array.from({ length: 11_594 }, (_, i) => 5001 + i)
  const { encoded, map } = roundTrip(5000, done)
  assert.ok(encoded.text.length < 40, `${encoded.text.length} chars`)
  assert.equal(map.done.length, 11_594)
})

test('a random half-done map of 20,000 offsets is encoded whole within 4096 characters', () => {
  let seed = 7
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const done: number[] = []
  for (let offset = 1; offset <= 20_000; offset++) if (random() < 0.5) done.push(offset)
  const { encoded, map } = roundTrip(0, done)
  assert.ok(encoded.text.length <= 4096, `${encoded.text.length}`)
  assert.deepEqual(map.done, done)
})

test('past the limit the longest prefix that fits is kept, never nothing, and the rest counts as not done', () => {
  let seed = 3
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const done: number[] = []
  for (let offset = 1; offset <= 200_000; offset++) if (random() < 0.5) done.push(offset)
  const { encoded, map } = roundTrip(0, done, 1000)
  assert.ok(encoded.text.length <= 1000)
  assert.ok(encoded.coveredUntil > 1000, `covers ${encoded.coveredUntil}`)
  assert.ok(encoded.coveredUntil < 200_001)
  assert.deepEqual(
    map.done,
    done.filter((offset) => offset < encoded.coveredUntil),
  )
  // The whole map would not have fitted.
  assert.ok((encodeOffsetMap(0, done, 1_000_000)?.text.length ?? 0) > 1000)
})

test('metadata that is not ours, of another version, for another offset, truncated or altered is ignored with a reason', () => {
  const good = encodeOffsetMap(100, [102, 103])?.text ?? ''
  const cases: Array<[string, RegExp]> = [
    ['some-other-client-metadata', /not a kvp offset map/],
    [`${OFFSET_MAP_PREFIX}`, /truncated/],
    [good.slice(0, -4), /fails its check|truncated/],
    [`${good.slice(0, -2)}AA`, /fails its check/],
    [`${OFFSET_MAP_PREFIX}${Buffer.from([9, 0, 0, 0, 0, 0, 1]).toString('base64')}`, /version 9/],
  ]
  for (const [text, reason] of cases) {
    const { map, problem } = decodeOffsetMap(text, 100)
    assert.equal(map, undefined, text)
    assert.match(problem ?? '', reason, text)
  }
  assert.match(decodeOffsetMap(good, 101).problem ?? '', /belongs to offset 100, not to the committed 101/)
  assert.deepEqual(decodeOffsetMap('', 5), {})
  assert.deepEqual(decodeOffsetMap(undefined, 5), {})
})
