import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { Lane } from '../../../src/dispatch/lane.js'
import { LaneSplitter } from '../../../src/dispatch/lane-splitter.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'

function messages(from: number, count: number): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({ topic: 't', partition: 0, offset: from + 2 * i, key: null, value: Buffer.from(`v${from + 2 * i}`), size: 3 }))
}

function lanes(count: number): { lanes: Lane[]; at: (index: number) => Lane } {
  const all = Array.from({ length: count }, (_, index) => new Lane(index, undefined, 't', 0))
  return { lanes: all, at: (index) => all[index] as Lane }
}

test("each lane gets its keys' messages in offset order, with their seqs, and is touched once", () => {
  const distributor = createDistributor('consistent', 4)
  const splitter = new LaneSplitter(distributor)
  const { lanes: all, at } = lanes(4)
  const batch = messages(100, 200)
  const keys = batch.map((_, i) => `k${i % 13}`)
  const seqs = batch.map((_, i) => 1000 + i)
  const touched: Lane[] = []
  splitter.split(batch, seqs, keys, at, touched)

  // What the distributor alone says of each message's lane.
  const expected = new Uint32Array(batch.length)
  createDistributor('consistent', 4).distribute(keys, expected, { taken: new Float64Array(4), done: new Float64Array(4) })
  for (const lane of all) {
    const mine = batch.filter((_, i) => expected[i] === lane.index)
    assert.deepEqual(
      lane.offsets(),
      mine.map((m) => m.offset),
      `lane ${lane.index}: its messages, in offset order`,
    )
    assert.deepEqual(
      lane.seqs(),
      mine.map((m) => 1000 + batch.indexOf(m)),
      `lane ${lane.index}: the seqs of those messages`,
    )
  }
  assert.deepEqual(
    touched.map((lane) => lane.index).sort(),
    all.filter((lane) => lane.size > 0).map((lane) => lane.index),
  )

  // A lane that already has messages is not touched again: it is on the ready list or busy.
  const again: Lane[] = []
  splitter.split(
    messages(600, 50),
    Array.from({ length: 50 }, (_, i) => 2000 + i),
    Array.from({ length: 50 }, (_, i) => `k${i % 13}`),
    at,
    again,
  )
  assert.deepEqual(again, [])
  assert.equal(
    all.reduce((sum, lane) => sum + lane.size, 0),
    250,
  )
})

test('without keys (the partitioner failed) the whole batch goes to lane 0, in order', () => {
  const splitter = new LaneSplitter(createDistributor('sticky', 8))
  const { lanes: all, at } = lanes(8)
  const batch = messages(0, 30)
  const touched: Lane[] = []
  splitter.split(
    batch,
    batch.map((_, i) => i),
    undefined,
    at,
    touched,
  )
  assert.deepEqual(touched, [all[0]])
  assert.deepEqual(
    all[0]?.offsets(),
    batch.map((m) => m.offset),
  )
  assert.ok(all.slice(1).every((lane) => lane.size === 0))
})

test('sticky: laneAdvanced() is what tells the distributor a key has nothing left in its lane, so it may move', () => {
  const run = (report: boolean): number => {
    const splitter = new LaneSplitter(createDistributor('sticky', 2))
    const { lanes: all, at } = lanes(2)
    const laneOfSeq = (seq: number): number => all.findIndex((lane) => lane.seqs().includes(seq))
    splitter.split(messages(0, 2), [0, 1], ['hot', 'b'], at, [])
    splitter.split(messages(4, 2), [2, 3], ['c', 'c'], at, [])
    assert.deepEqual([laneOfSeq(0), laneOfSeq(1), laneOfSeq(2), laneOfSeq(3)], [0, 1, 0, 0], 'hot and c on lane 0, b on lane 1')
    // hot's one message is done; lane 0 still holds c's two.
    ;(all[0] as Lane).advance(1)
    if (report) splitter.laneAdvanced(0, 1)
    splitter.split(messages(8, 1), [4], ['hot'], at, [])
    return laneOfSeq(4)
  }
  assert.equal(run(true), 1, 'told: hot goes to the less loaded lane')
  assert.equal(run(false), 0, 'not told: hot still counts as in flight on lane 0 and stays')
})
