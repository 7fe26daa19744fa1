import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PollSize, ROOM, SATURATED } from '../../../src/kafka/poll-size.js'

const SIZES = { large: 4000, small: 1000 }

test('polls are large while nothing waits in lanes for a worker', () => {
  const size = new PollSize(SIZES, () => 0.5)
  assert.equal(size.next(0), 4000)
  assert.equal(size.next(999), 4000, 'less than a small poll waiting: lanes still hungry')
})

test('polls turn small once a small poll’s worth waits, and large again only once nothing does', () => {
  const size = new PollSize(SIZES, () => 0.5)
  assert.equal(size.next(1000), 1000)
  assert.equal(size.next(300), 1000, 'a dip (a paused partition resuming) keeps them small')
  assert.equal(size.next(1), 1000)
  assert.equal(size.next(0), 4000, 'every lane has sent what it had: hungry again')
  assert.equal(size.next(500), 4000)
})

test('polls stay large while the main thread is saturated, backed up or not, and turn small once it has room again', () => {
  let busy = SATURATED
  const size = new PollSize(SIZES, () => busy)
  assert.equal(size.next(5000), 4000, 'the main thread sets the pace: the cheapest polls per message')
  busy = ROOM
  assert.equal(size.next(5000), 4000, 'not yet room: a window or two under SATURATED does not flip it')
  busy = ROOM - 0.01
  assert.equal(size.next(5000), 1000, 'the lanes set the pace again')
  busy = SATURATED - 0.01
  assert.equal(size.next(5000), 1000, 'and keep it until the main thread saturates')
  assert.equal(size.next(0), 4000)
})
