import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { KnownDone } from '../../../src/offsets/known-done.js'

test('answers for increasing offsets: recorded ones are done, the rest are not', () => {
  const known = new KnownDone({ done: [5, 6, 9], coveredUntil: 12 })
  assert.deepEqual(
    [4, 5, 6, 7, 8, 9, 10, 11].map((offset) => known.has(offset)),
    [false, true, true, false, false, true, false, false],
  )
  assert.equal(known.exhausted, true)
})

test('an offset the fetch jumped over (a gap) is forgotten, the next ones still answer', () => {
  const known = new KnownDone({ done: [3, 4, 8], coveredUntil: 9 })
  assert.equal(known.has(5), false)
  assert.equal(known.exhausted, false)
  assert.equal(known.has(8), true)
  assert.equal(known.exhausted, true)
})

test('nothing at or past coveredUntil is known done', () => {
  const known = new KnownDone({ done: [1], coveredUntil: 2 })
  assert.equal(known.size, 1)
  assert.equal(known.has(2), false)
})
