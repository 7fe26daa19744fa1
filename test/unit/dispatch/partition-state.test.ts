import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import { KnownDone } from '../../../src/offsets/known-done.js'
import type { PartitionLane } from '../../../src/dispatch/partition-state.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

function route(distribution: 'consistent' | 'balanced' | 'sticky', lanes = 4) {
  const route = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: { lanes: lanes, distribution } }] }).routes[0]
  assert.ok(route)
  return route
}

function messages(from: number, count: number, key: (offset: number) => string | null): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition: 0,
    offset: from + i,
    key: key(from + i) === null ? null : Buffer.from(key(from + i) as string),
    value: Buffer.from('v'),
    size: 1,
  }))
}

function drainLanes(state: PartitionState): number[] {
  const done: number[] = []
  for (const lane of state.lanes) {
    if (!lane) continue
    while (lane.size > 0) {
      done.push(lane.headMessage().offset)
      state.sliceHandled(lane, 1, 0)
    }
  }
  return done
}

test("consistent: every message lands in its key's lane, batches need no barrier", () => {
  const r = route('consistent')
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 4))
  const touched: PartitionLane[] = []
  state.accept(
    messages(0, 40, (o) => `k${o % 8}`),
    touched,
  )
  state.accept(
    messages(40, 40, (o) => `k${o % 8}`),
    touched,
  )
  assert.equal(state.laneMessages, 80, 'the second batch went straight to lanes')
  const laneOfKey = new Map<string, number>()
  for (const lane of state.lanes) {
    for (const offset of lane?.offsets() ?? []) {
      const key = `k${offset % 8}`
      assert.equal(laneOfKey.get(key) ?? lane?.index, lane?.index, `key ${key} stays in one lane`)
      laneOfKey.set(key, lane?.index as number)
    }
  }
})

test('balanced: the next batch waits behind a barrier until the partition is idle, then spreads', () => {
  const r = route('balanced')
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor('key', 'p'), createDistributor('balanced', 4))
  const touched: PartitionLane[] = []
  state.accept(
    messages(0, 20, (o) => (o < 10 ? 'hot' : `k${o}`)),
    touched,
  )
  assert.equal(state.laneMessages, 20)
  state.accept(
    messages(20, 10, () => 'hot'),
    touched,
  )
  assert.equal(state.laneMessages, 20, 'held: a key may change lanes between batches')
  assert.equal(state.inFlight, 30, 'held messages count as in flight')
  state.release(touched)
  assert.equal(state.laneMessages, 20, 'still held while lanes are busy')
  assert.deepEqual(
    drainLanes(state).sort((a, b) => a - b),
    Array.from({ length: 20 }, (_, i) => i),
  )
  state.release(touched)
  assert.equal(state.laneMessages, 10, 'released once idle')
  assert.equal(state.watermark(), 20)
})

test('sticky: a key stays in its lane while it has messages there, then moves to the emptiest lane, with no barrier', () => {
  const state = new PartitionState('t', 0, route('sticky'), 1, createKeyExtractor('key', 'p'), createDistributor('sticky', 4))
  const touched: PartitionLane[] = []
  const laneOf = (offset: number): number | undefined => state.lanes.find((lane) => lane?.offsets().includes(offset))?.index
  // a, a, a, b, c, d: a to lane 0, then b, c and d to the empty lanes 1, 2 and 3.
  state.accept(
    messages(0, 6, (o) => ['a', 'a', 'a', 'b', 'c', 'd'][o] as string),
    touched,
  )
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(laneOf), [0, 0, 0, 1, 2, 3])
  const a = state.lanes[0] as PartitionLane
  state.sliceHandled(a, 2, 0)
  // One message of a is still in lane 0: a's next message joins it, no barrier.
  state.accept(
    messages(6, 1, () => 'a'),
    touched,
  )
  assert.equal(laneOf(6), 0)
  assert.equal(state.laneMessages, 5, 'the batch went straight to its lane')
  state.sliceHandled(a, 2, 0)
  state.sliceHandled(state.lanes[1] as PartitionLane, 1, 0)
  state.sliceHandled(state.lanes[2] as PartitionLane, 1, 0)
  // PartitionLane 0 drained: a is free again and goes to the least loaded lane; lanes 0, 1 and 2
  // are empty, so the lowest. b still has nothing queued either: lane 1 after a took 0.
  state.accept(
    messages(7, 3, (o) => ['d', 'a', 'b'][o - 7] as string),
    touched,
  )
  assert.deepEqual([7, 8, 9].map(laneOf), [3, 0, 1], 'd stays behind its message in lane 3; a and b go to the empty lanes')
  assert.deepEqual(
    drainLanes(state).sort((x, y) => x - y),
    [5, 7, 8, 9],
  )
})

test('a partitioner that throws sends its batch to lane 0 alone, behind a barrier, and reports the offset', () => {
  const r = route('consistent')
  const extract = createKeyExtractor((message) => {
    if (message.offset === 13) throw new Error('bad message')
    return message.key
  }, 'p')
  const state = new PartitionState('t', 0, r, 1, extract, createDistributor('consistent', 4))
  const touched: PartitionLane[] = []
  assert.equal(
    state.accept(
      messages(0, 10, (o) => `k${o}`),
      touched,
    ),
    undefined,
  )
  const failure = state.accept(
    messages(10, 10, (o) => `k${o}`),
    touched,
  )
  assert.equal(failure?.offset, 13)
  assert.equal(state.laneMessages, 10, 'the failed batch waits for the lanes before it')
  state.accept(
    messages(20, 5, (o) => `k${o}`),
    touched,
  )
  assert.equal(state.laneMessages, 10, 'and later batches wait behind it')
  drainLanes(state)
  state.release(touched)
  assert.equal(state.lanes[0]?.size, 10, 'the failed batch runs on lane 0 alone')
  assert.equal(state.laneMessages, 10)
  drainLanes(state)
  state.release(touched)
  assert.equal(state.laneMessages, 5, 'then the next batch is distributed normally')
  drainLanes(state)
  assert.equal(state.watermark(), 25)
})

test('with virtualPartitions: false everything runs in one lane', () => {
  const r = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: false }] }).routes[0]
  assert.ok(r)
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 1))
  state.accept(
    messages(0, 30, (o) => `k${o}`),
    [],
  )
  assert.equal(state.lanes[0]?.size, 30)
})

test('an offset librdkafka delivers again (a pause purged its prefetch mid-consume) is dropped: each offset is taken once per assignment', () => {
  const r = route('consistent')
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor(r.partitioner, 'p'), createDistributor(r.distribution, r.lanes))
  state.accept(
    messages(0, 10, (o) => `k${o % 3}`),
    [],
  )
  // The refetch starts below what was taken; one batch can even hold both sides of the purge.
  state.accept([...messages(5, 10, (o) => `k${o % 3}`), ...messages(12, 6, (o) => `k${o % 3}`)], [])
  assert.equal(state.fetched, 18, 'offsets 0..17, each once')
  assert.equal(state.redelivered, 5 + 3)
  assert.deepEqual(
    drainLanes(state).sort((a, b) => a - b),
    Array.from({ length: 18 }, (_, i) => i),
  )
  assert.equal(state.watermark(), 18)
})

test('offsets a previous owner recorded as done are acked at once and never reach a lane; the others run, and the watermark passes both', () => {
  const r = route('consistent')
  const known = new KnownDone({ done: [11, 12, 15, 30], coveredUntil: 31 })
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor(r.partitioner, 'p'), createDistributor(r.distribution, r.lanes), known)
  const touched: PartitionLane[] = []
  // The first batch holds 10..17: 11, 12 and 15 were done before.
  state.accept(
    messages(10, 8, (o) => `k${o % 3}`),
    touched,
  )
  assert.equal(state.skippedDone, 3)
  assert.equal(state.inFlight, 5)
  assert.equal(state.watermark(), 10)
  assert.deepEqual(state.doneAbove(), [11, 12, 15])
  const ran = drainLanes(state).sort((a, b) => a - b)
  assert.deepEqual(ran, [10, 13, 14, 16, 17])
  assert.equal(state.watermark(), 18)
  // Past what the map covered, nothing is skipped: 30 was recorded, 31 on were not.
  state.accept(
    messages(18, 16, (o) => `k${o % 3}`),
    touched,
  )
  assert.equal(state.skippedDone, 4)
  assert.deepEqual(
    drainLanes(state).sort((a, b) => a - b),
    Array.from({ length: 16 }, (_, i) => 18 + i).filter((o) => o !== 30),
  )
  assert.equal(state.watermark(), 34)
})

test('a partition with no offset map skips nothing', () => {
  const r = route('sticky')
  const state = new PartitionState('t', 0, r, 1, createKeyExtractor(r.partitioner, 'p'), createDistributor(r.distribution, r.lanes))
  state.accept(
    messages(0, 6, () => 'k'),
    [],
  )
  assert.equal(state.skippedDone, 0)
  assert.equal(drainLanes(state).length, 6)
})
