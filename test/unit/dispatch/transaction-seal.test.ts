/**
 * Exactly-once's seal over one partition: what a closing transaction covers, what waits
 * for the next one, and when the watermark is exactly the end of what it covers.
 */
import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import type { PartitionLane } from '../../../src/dispatch/partition-state.js'
import { ConfigError } from '../../../src/errors.js'
import { OffsetTracker } from '../../../src/offsets/offset-tracker.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

function partition(lanes = 2): PartitionState {
  const route = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: { lanes: lanes } }] }).routes[0]
  assert.ok(route)
  return new PartitionState('t', 0, route, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', lanes))
}

function messages(from: number, count: number, keys: number): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({ topic: 't', partition: 0, offset: from + i, key: Buffer.from(`k${(from + i) % keys}`), value: Buffer.from('v'), size: 1 }))
}

/** Starts a slice of `count` head messages of `lane`, as the dispatcher does. */
function start(state: PartitionState, lane: PartitionLane, count: number): void {
  lane.sliceSent()
  state.startedUpTo(lane.seqAt(count - 1))
}

test('the tracker: nextSeq counts what was registered; doneBefore(seq) holds once every message below seq is acked', () => {
  const tracker = new OffsetTracker()
  const seqs = [10, 11, 12, 13].map((offset) => tracker.register(offset))
  assert.equal(tracker.nextSeq, 4)
  assert.equal(tracker.doneBefore(0), true, 'nothing below seq 0')
  assert.equal(tracker.doneBefore(2), false)
  tracker.ack(seqs[1] as number)
  assert.equal(tracker.doneBefore(2), false, 'seq 0 is still pending')
  tracker.ack(seqs[0] as number)
  assert.equal(tracker.doneBefore(2), true)
  assert.equal(tracker.watermark(), 12)
  assert.equal(tracker.doneBefore(4), false)
})

test('a seal covers what slices started: those lanes finish below it, messages past it wait, and a slice never crosses it', () => {
  const state = partition(1)
  const touched: PartitionLane[] = []
  state.accept(messages(0, 6, 1), touched)
  const lane = state.lanes.find((l) => l !== undefined) as PartitionLane
  start(state, lane, 3)
  state.seal()
  assert.equal(state.sealedAt, 3, 'sealed after the last started message')
  assert.equal(state.settled, false, 'three started messages are not done')
  state.sliceHandled(lane, 3, 3)
  lane.sliceReturned(3, false)
  assert.equal(state.settled, true, 'every message below the seal is done')
  assert.equal(state.watermark(), 3, 'the watermark is where the transaction ends')
  assert.equal(lane.ready(state.sealedAt), false, 'messages past the seal wait for the next transaction')
  assert.equal(lane.sendable(100, state.sealedAt), 0)
  state.unseal()
  assert.equal(lane.ready(state.sealedAt), true)
  assert.equal(lane.sendable(100, state.sealedAt), 3)
})

test('a lane that is behind still runs its queued messages below the seal, but not the ones past it', () => {
  const state = partition(2)
  const touched: PartitionLane[] = []
  state.accept(messages(0, 8, 2), touched)
  const lanes = state.lanes.filter((l): l is PartitionLane => l !== undefined)
  assert.equal(lanes.length, 2, 'two keys, two lanes')
  // The lane ahead holds seqs 0, 2, 4, 6; the lane behind 1, 3, 5, 7.
  const ahead = lanes.find((lane) => lane.seqAt(0) === 0) as PartitionLane
  const behind = lanes.find((lane) => lane !== ahead) as PartitionLane
  // The lane ahead started all of its four messages; the one behind started nothing.
  start(state, ahead, ahead.size)
  state.seal()
  const sealedAt = state.sealedAt as number
  assert.equal(sealedAt, 7)
  assert.equal(behind.ready(sealedAt), true)
  const below = behind.seqs().filter((seq) => seq < sealedAt).length
  assert.equal(behind.sendable(100, sealedAt), below, 'the lane behind may carry exactly its messages below the seal')
  assert.ok(below < behind.size, 'and not its messages past it')
})

test('a partition with nothing started seals at once: the closing transaction waits for none of it', () => {
  const state = partition(2)
  state.accept(messages(0, 4, 2), [])
  state.seal()
  assert.equal(state.sealedAt, 0)
  assert.equal(state.settled, true)
  for (const lane of state.lanes) if (lane) assert.equal(lane.ready(state.sealedAt), false)
})

test('exactly-once refuses what it cannot keep: manual offsets, a dead-letter cluster of its own, read_uncommitted; each ConfigError names the field', () => {
  const field = (options: Record<string, unknown>): string | undefined => {
    try {
      resolveOptions({ groupId: 'g', exactlyOnce: true, topics: [{ topic: 't', handler: 'h.js' }], ...options } as never)
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error))
      return error.field
    }
    return undefined
  }
  assert.equal(field({ topics: [{ topic: 't', handler: 'h.js', manualOffsets: true }] }), 'topics[0].manualOffsets')
  assert.equal(field({ topics: [{ topic: 't', handler: 'h.js', deadLetter: { topic: 'dlq', kafka: { 'bootstrap.servers': 'other:9092' } } }] }), 'topics[0].deadLetter.kafka')
  assert.equal(field({ kafka: { 'isolation.level': 'read_uncommitted' } }), 'kafka.isolation.level')
  assert.equal(field({ transactionIntervalMs: 5 }), 'transactionIntervalMs')
  assert.equal(field({}), undefined, 'the defaults are accepted')
  const resolved = resolveOptions({ groupId: 'g', exactlyOnce: true, topics: [{ topic: 't', handler: 'h.js' }] })
  assert.equal(resolved.exactlyOnce?.intervalMs, 500)
  assert.match(resolved.exactlyOnce?.transactionalId ?? '', /^kvp-g-/)
})
