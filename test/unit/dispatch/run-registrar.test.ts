import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { RunRegistrar } from '../../../src/dispatch/run-registrar.js'
import { KnownDone } from '../../../src/offsets/known-done.js'

/** Records what a run registers and acks, handing out seqs 0, 1, 2, ... like the offset tracker. */
class FakeTracker {
  registered: number[] = []
  acked: number[] = []

  get lastRegistered(): number | undefined {
    return this.registered[this.registered.length - 1]
  }

  register(offset: number): number {
    this.registered.push(offset)
    return this.registered.length - 1
  }

  ack(seq: number): boolean {
    this.acked.push(seq)
    return true
  }
}

function run(offsets: number[], value: string | null = 'vv'): KafkaMessage[] {
  return offsets.map((offset) => ({ topic: 't', partition: 0, offset, value: value === null ? null : Buffer.from(value), size: 1 }))
}

test('with nothing known done, the whole run is registered and handed on, with its payload bytes', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar()
  const messages = run([3, 4, 6])
  const registered = registrar.register(tracker, messages)
  assert.equal(registered.messages, messages)
  assert.deepEqual(registered.seqs, [0, 1, 2])
  assert.equal(registered.bytes, 6)
  assert.equal(registered.fetched, 3)
  assert.equal(registered.firstOffset, 3)
  assert.deepEqual(tracker.registered, [3, 4, 6])
  assert.deepEqual(tracker.acked, [])
  assert.equal(registrar.skipped, 0)
})

test('a message without a value counts no bytes', () => {
  assert.equal(new RunRegistrar().register(new FakeTracker(), run([0, 1], null)).bytes, 0)
})

test('offsets known done are registered and acked at once, and left out of what is handed on', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar(new KnownDone({ done: [1, 3], coveredUntil: 10 }))
  const registered = registrar.register(tracker, run([0, 1, 2, 3, 4]))
  assert.deepEqual(
    registered.messages.map((message) => message.offset),
    [0, 2, 4],
  )
  assert.deepEqual(registered.seqs, [0, 2, 4])
  assert.equal(registered.bytes, 6)
  assert.equal(registered.fetched, 5, 'skipped messages count as fetched')
  assert.deepEqual(tracker.registered, [0, 1, 2, 3, 4], 'every offset is registered, so the watermark passes the skipped ones')
  assert.deepEqual(tracker.acked, [1, 3])
  assert.equal(registrar.skipped, 2)
})

test('a run of only known-done offsets hands on nothing', () => {
  const registered = new RunRegistrar(new KnownDone({ done: [5, 6], coveredUntil: 7 })).register(new FakeTracker(), run([5, 6]))
  assert.deepEqual(registered.messages, [])
  assert.deepEqual(registered.seqs, [])
  assert.equal(registered.bytes, 0)
})

test('the known-done offsets are dropped once fetched past what the map covers', () => {
  const tracker = new FakeTracker()
  // 9 is listed only to show the map is gone: a run reaching coveredUntil ends the skipping, so 9 is handed on.
  const registrar = new RunRegistrar(new KnownDone({ done: [2, 9], coveredUntil: 5 }))
  registrar.register(tracker, run([2, 3, 4]))
  assert.equal(registrar.skipped, 1)
  const later = registrar.register(tracker, run([9]))
  assert.deepEqual(
    later.messages.map((message) => message.offset),
    [9],
  )
  assert.equal(registrar.skipped, 1)
})

test('the known-done offsets are dropped once every recorded one has been passed', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar(new KnownDone({ done: [1], coveredUntil: 100 }))
  registrar.register(tracker, run([0, 1, 2]))
  assert.equal(registrar.skipped, 1)
  assert.deepEqual(
    registrar.register(tracker, run([3, 4])).messages.map((message) => message.offset),
    [3, 4],
  )
  assert.deepEqual(tracker.acked, [1])
})

test('while offsets remain to be fetched again, later runs still skip them', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar(new KnownDone({ done: [1, 7], coveredUntil: 100 }))
  registrar.register(tracker, run([0, 1, 2]))
  const later = registrar.register(tracker, run([6, 7, 8]))
  assert.deepEqual(
    later.messages.map((message) => message.offset),
    [6, 8],
  )
  assert.equal(registrar.skipped, 2)
})

test('offsets registered already (librdkafka delivering them again) are dropped and counted', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar()
  registrar.register(tracker, run([0, 1, 2]))
  const again = registrar.register(tracker, run([1, 2, 3, 4]))
  assert.deepEqual(
    again.messages.map((message) => message.offset),
    [3, 4],
  )
  assert.equal(again.fetched, 2)
  assert.equal(again.firstOffset, 3)
  assert.equal(registrar.redelivered, 2)
  assert.deepEqual(tracker.registered, [0, 1, 2, 3, 4])
})

test('one batch may hold messages from both sides of a purge: only the new ones are kept', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar()
  const registered = registrar.register(tracker, run([5, 6, 7, 6, 7, 8]))
  assert.deepEqual(
    registered.messages.map((message) => message.offset),
    [5, 6, 7, 8],
  )
  assert.equal(registrar.redelivered, 2)
})

test('a batch of only repeats registers nothing', () => {
  const tracker = new FakeTracker()
  const registrar = new RunRegistrar(new KnownDone({ done: [1], coveredUntil: 5 }))
  registrar.register(tracker, run([0, 1]))
  const again = registrar.register(tracker, run([0, 1]))
  assert.equal(again.fetched, 0)
  assert.equal(again.firstOffset, undefined)
  assert.deepEqual(again.messages, [])
  assert.equal(registrar.redelivered, 2)
  assert.equal(registrar.skipped, 1)
  assert.deepEqual(tracker.registered, [0, 1])
})
