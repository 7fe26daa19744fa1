import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PollSize } from '../../../src/kafka/poll-size.js'

test('polls are large while nothing waits in lanes for a worker', () => {
  const size = new PollSize({ large: 4000, small: 1000 })
  assert.equal(size.next(0), 4000)
  assert.equal(size.next(999), 4000, 'less than a small poll waiting: lanes still hungry')
})

test('polls turn small once a small poll’s worth waits, and large again only once nothing does', () => {
  const size = new PollSize({ large: 4000, small: 1000 })
  assert.equal(size.next(1000), 1000)
  assert.equal(size.next(300), 1000, 'a dip (a paused partition resuming) keeps them small')
  assert.equal(size.next(1), 1000)
  assert.equal(size.next(0), 4000, 'every lane has sent what it had: hungry again')
  assert.equal(size.next(500), 4000)
})
