import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import type { VirtualKey } from '../../../src/config/options.js'
import { type HeldBatch, HeldBatches } from '../../../src/dispatch/held-batches.js'

function batch(from: number, count: number, keyed = true): HeldBatch {
  const offsets = Array.from({ length: count }, (_, i) => from + i)
  return {
    messages: offsets.map((offset) => ({ topic: 't', partition: 0, offset, value: Buffer.from('v'), size: 1 }) as KafkaMessage),
    seqs: offsets,
    keys: keyed ? offsets.map((offset) => `k${offset}` as VirtualKey) : undefined,
  }
}

function offsets(taken: HeldBatch | undefined): number[] {
  return taken?.messages.map((message) => message.offset) ?? []
}

test('holds batches in fetch order: the head is the first message held, the count covers them all', () => {
  const held = new HeldBatches(false)
  assert.equal(held.empty, true)
  assert.equal(held.head(), undefined)
  held.hold(batch(10, 3))
  held.hold(batch(13, 2))
  assert.equal(held.empty, false)
  assert.equal(held.messages, 5)
  assert.equal(held.head()?.offset, 10)
})

test('without merging, each keyed batch is taken on its own', () => {
  const held = new HeldBatches(false)
  held.hold(batch(0, 2))
  held.hold(batch(2, 2))
  assert.deepEqual(offsets(held.take()), [0, 1])
  assert.equal(held.messages, 2)
  assert.deepEqual(offsets(held.take()), [2, 3])
  assert.equal(held.take(), undefined)
  assert.equal(held.messages, 0)
})

test('merging: a keyed batch takes the keyed batches after it, up to one whose partitioner failed', () => {
  const held = new HeldBatches(true)
  held.hold(batch(0, 2))
  held.hold(batch(2, 1))
  held.hold(batch(3, 2, false))
  held.hold(batch(5, 1))
  const merged = held.take()
  assert.deepEqual(offsets(merged), [0, 1, 2])
  assert.deepEqual(merged?.seqs, [0, 1, 2])
  assert.deepEqual(merged?.keys, ['k0', 'k1', 'k2'])
  assert.equal(held.messages, 3)
  const failed = held.take()
  assert.deepEqual(offsets(failed), [3, 4], 'a batch whose partitioner failed comes alone')
  assert.equal(failed?.keys, undefined)
  assert.deepEqual(offsets(held.take()), [5])
  assert.equal(held.empty, true)
})

test('clear drops every batch and its count', () => {
  const held = new HeldBatches(true)
  held.hold(batch(0, 4))
  held.hold(batch(4, 1, false))
  held.clear()
  assert.equal(held.empty, true)
  assert.equal(held.messages, 0)
  assert.equal(held.take(), undefined)
})
