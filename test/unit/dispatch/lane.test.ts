import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { RecordColumnsReader, RecordColumnsWriter } from '../../../src/codec/record-columns.js'
import { Lane } from '../../../src/dispatch/lane.js'
import { type LaneRun, PackedBatch } from '../../../src/dispatch/packed-batch.js'

function messagesAt(offsets: number[]): KafkaMessage[] {
  return offsets.map((offset) => ({
    topic: 't',
    partition: 2,
    offset,
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(`value-${offset}`),
    size: `value-${offset}`.length,
    timestamp: offset,
  }))
}

/** One lane's run: a batch of just these messages. */
function chunk(offsets: number[]): LaneRun {
  return PackedBatch.pack(messagesAt(offsets), offsets.length).run(0, offsets.length)
}

/** A lane of topic 't' partition 2; a lane never reads its owner. */
function lane(index = 0): Lane {
  return new Lane(index, undefined, 't', 2)
}

test('a lane packs messages across its chunks in offset order, and advancing drops whole chunks', () => {
  const l = lane()
  l.push(chunk([1, 5, 9]), [0, 1, 2])
  l.push(chunk([12]), [3])
  l.push(chunk([20, 21]), [4, 5])
  assert.equal(l.size, 6)
  assert.deepEqual(l.offsets(), [1, 5, 9, 12, 20, 21])
  assert.equal(l.advance(2), 'value-1value-5'.length, 'advancing part of a chunk gives back its payload bytes')
  assert.deepEqual(l.offsets(), [9, 12, 20, 21])
  assert.deepEqual(l.seqs(), [2, 3, 4, 5])
  assert.equal(l.seqAt(1), 3)
  assert.equal(l.headMessage().offset, 9)
  assert.equal(l.headMessage().partition, 2, 'the head message carries its partition')

  const records = new RecordColumnsWriter()
  records.add([{ topic: 't', partition: 2, offset: 0, key: null, value: null, size: 0 }], 0, 1)
  const first = l.packInto(records, 3)
  assert.equal(first, 1, "the lane's records follow what the task already held")
  const task = new RecordColumnsReader(records.finish())
  assert.deepEqual(
    [1, 2, 3].map((r) => task.offset(r)),
    [9, 12, 20],
  )
  assert.deepEqual(
    [1, 2, 3].map((r) => task.value(r)?.toString()),
    ['value-9', 'value-12', 'value-20'],
  )
  assert.deepEqual(
    [1, 2, 3].map((r) => task.key(r)?.toString()),
    ['k9', 'k12', 'k20'],
  )

  assert.equal(l.advance(3), 'value-9value-12value-20'.length, 'across chunks, one of them whole')
  assert.deepEqual(l.offsets(), [21])
  l.advance(1)
  assert.equal(l.size, 0)
  assert.equal(l.ready(undefined), false)
  assert.throws(() => l.headMessage(), /empty/)
  l.push(chunk([30]), [6])
  assert.deepEqual(l.offsets(), [30], 'an emptied lane takes new chunks')
})

test('a long-lived lane compacts its queues and keeps order', () => {
  const l = lane()
  let next = 0
  let seq = 0
  const expected: number[] = []
  for (let round = 0; round < 500; round++) {
    const offsets = [next++, next++, next++]
    expected.push(...offsets)
    l.push(chunk(offsets), [seq++, seq++, seq++])
    l.advance(2)
    expected.splice(0, 2)
  }
  assert.deepEqual(l.offsets(), expected)
  assert.equal(l.headMessage().offset, expected[0])
})

test('lanes share a packed batch; once it has aged, a stuck lane gets its rows copied out and the batch is dropped', () => {
  const fast = lane()
  const stuck = lane(1)
  // 16 messages packed in lane order: rows 0..12 for the fast lane, 13..15 for the stuck one.
  const offsets = Array.from({ length: 16 }, (_, i) => i)
  const batch = PackedBatch.pack(messagesAt(offsets), 16)
  fast.push(batch.run(0, 13), offsets.slice(0, 13))
  stuck.push(batch.run(13, 16), [13, 14, 15])
  fast.advance(12)
  assert.equal(batch.live, 4, 'rows are live until their lane is done with them')
  fast.advance(1)
  assert.equal(batch.live, 3)
  assert.equal(stuck.advance(1), 'value-13'.length)
  assert.equal(batch.live, 2, 'a young batch is not compacted: the stuck lane still reads it')
  batch.age()
  assert.deepEqual(stuck.offsets(), [14, 15], "compaction keeps the stuck lane's messages")
  assert.equal(stuck.headMessage().value?.toString(), 'value-14')
  assert.equal(stuck.advance(1), 'value-14'.length)
  assert.equal(batch.live, 2, 'the stuck lane reads its own copy now: the shared batch is left behind')
  assert.equal(stuck.headOffset(), 15)
  const records = new RecordColumnsWriter()
  stuck.packInto(records, 1)
  assert.equal(new RecordColumnsReader(records.finish()).key(0)?.toString(), 'k15')
  stuck.advance(1)
  assert.equal(stuck.size, 0)
})

test("a lane is ready, and a slice carries its messages, only below the partition's transaction seal", () => {
  const l = lane()
  l.push(chunk([40, 41, 42, 43]), [7, 8, 9, 10])
  assert.equal(l.ready(undefined), true, 'not sealed: ready')
  assert.equal(l.sendable(3, undefined), 3, 'not sealed: up to the slice limit')
  assert.equal(l.ready(9), true)
  assert.equal(l.sendable(10, 9), 2, 'seqs 7 and 8 are below the seal at 9')
  assert.equal(l.ready(7), false, 'the head message is past the seal')
  assert.equal(l.sendable(10, 7), 0)
  l.sliceSent()
  assert.equal(l.ready(undefined), false, 'a busy lane starts nothing')
  l.sliceReturned(2, false)
  l.advance(2)
  assert.equal(l.seqAt(0), 9)
  assert.equal(l.ready(undefined), true)
})
