import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import type { PartitionLane } from '../../../src/dispatch/partition-state.js'
import { partitionStats } from '../../../src/dispatch/partition-stats.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

function partition(lanes: number): PartitionState {
  const route = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: { lanes: lanes, distribution: 'consistent' } }] }).routes[0]
  assert.ok(route)
  return new PartitionState('t', 3, route, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', lanes))
}

/** Messages at offsets from..from+count−1 with keys k0..k(keys−1) in turn, stamped `timestamp + offset` ms. */
function messages(from: number, count: number, keys: number, timestamp: number): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition: 3,
    offset: from + i,
    key: Buffer.from(`k${(from + i) % keys}`),
    value: Buffer.from('v'),
    size: 1,
    timestamp: timestamp + from + i,
  }))
}

function lanesWithMessages(state: PartitionState): PartitionLane[] {
  return state.lanes.filter((lane): lane is PartitionLane => lane !== undefined && lane.size > 0)
}

test('before the first fetch a partition has no watermark, lag or age', () => {
  const line = partitionStats(partition(4), undefined, 1_000)
  assert.deepEqual(
    { watermark: line.watermark, committed: line.committed, highWatermark: line.highWatermark, lag: line.lag, lagSeconds: line.lagSeconds, activeLanes: line.activeLanes },
    { watermark: null, committed: null, highWatermark: null, lag: null, lagSeconds: 0, activeLanes: 0 },
  )
  assert.equal(line.topic, 't')
  assert.equal(line.partition, 3)
  assert.equal(line.lanes, 4)
})

test('counts busy, queued and retrying lanes, and ages the partition by its oldest unfinished message', () => {
  const state = partition(8)
  state.accept(messages(100, 40, 4, 50_000), [])
  const [busy, retrying, ...queued] = lanesWithMessages(state)
  assert.ok(busy && retrying && queued.length > 0, 'four keys fill at least three lanes')
  busy.sliceSent()
  retrying.awaitDeadLetter()
  const line = partitionStats(state, 200, 50_100 + 2_500)
  assert.equal(line.busyLanes, 1)
  assert.equal(line.retryingLanes, 1)
  assert.equal(line.queuedLanes, queued.length)
  assert.equal(line.activeLanes, 2 + queued.length)
  assert.equal(line.fetched, 40)
  assert.equal(line.inFlight, 40)
  assert.equal(line.watermark, 100)
  // Nothing committed yet: the lag counts from the first fetched offset.
  assert.equal(line.lag, 100)
  // The oldest unfinished message is offset 100, stamped 50,100: 2.5 s ago.
  assert.equal(line.lagSeconds, 2.5)
})

test('the lag counts from the committed offset once there is one, never below 0; a drained partition has no age', () => {
  const state = partition(2)
  state.accept(messages(0, 10, 2, 1_000), [])
  for (const lane of lanesWithMessages(state)) state.sliceHandled(lane, lane.size, 0)
  state.offsetCommitted(10)
  const line = partitionStats(state, 25, 60_000)
  assert.equal(line.handled, 10)
  assert.equal(line.inFlight, 0)
  assert.equal(line.committed, 10)
  assert.equal(line.lag, 15)
  assert.equal(line.lagSeconds, 0)
  assert.equal(partitionStats(state, 5, 60_000).lag, 0, 'a stale high watermark below the committed offset reads as no lag')
})
