import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { Committer } from '../../../src/kafka/committer.js'
import { decodeOffsetMap } from '../../../src/offsets/offset-map.js'
import { fetchMessages, handleAll, partitionState } from '../../helpers/partitions.js'

/** A consumer that records what it is asked to store and commit, and fails on demand. */
function fakeConsumer() {
  const stored: Kafka.TopicPartitionOffset[][] = []
  const committed: Kafka.TopicPartitionOffset[][] = []
  const failures: number[] = []
  const asyncCommits: Kafka.TopicPartitionOffsetAndMetadata[][] = []
  const consumer = {
    offsetsStore(offsets: Kafka.TopicPartitionOffset[]) {
      stored.push(offsets.map((o) => ({ ...o })))
    },
    commit(offsets: Kafka.TopicPartitionOffsetAndMetadata[]) {
      asyncCommits.push(offsets.map((o) => ({ ...o })))
    },
    commitSync(offsets: Kafka.TopicPartitionOffset[]) {
      const code = failures.shift()
      if (code !== undefined) throw Object.assign(new Error(`commit failed with ${code}`), { code })
      committed.push(offsets.map((o) => ({ ...o })))
    },
  }
  return { consumer: consumer as unknown as Kafka.KafkaConsumer, stored, committed, failures, asyncCommits }
}

function partition(): PartitionState {
  return partitionState('t', 0)
}

/** The message at `offset`, the head of its lane, is handled. */
function handle(state: PartitionState, offset: number): void {
  const lane = state.lanes.find((l) => l?.headOffset() === offset)
  assert.ok(lane, `offset ${offset} heads a lane`)
  state.sliceHandled(lane, 1, 0)
}

/** The partition fetches the message at `offset`, and it is handled. */
function handled(state: PartitionState, offset: number): void {
  fetchMessages(state, offset, 1)
  handleAll(state)
}

test('only a watermark above the last stored one is stored: a commit never goes back', () => {
  const { consumer, stored } = fakeConsumer()
  const committer = new Committer(consumer)
  const state = partition()
  fetchMessages(state, 10, 3)
  handle(state, 10)
  committer.watermarkMoved(state)
  committer.storeDirty()
  assert.deepEqual(stored, [[{ topic: 't', partition: 0, offset: 11 }]])
  committer.watermarkMoved(state)
  committer.storeDirty()
  assert.equal(stored.length, 1, 'an unchanged watermark is not stored again')
  handle(state, 12)
  committer.watermarkMoved(state)
  committer.storeDirty()
  assert.equal(stored.length, 1, 'an ack above a gap does not move the watermark')
  handle(state, 11)
  committer.watermarkMoved(state)
  committer.storeDirty()
  assert.deepEqual(stored[1], [{ topic: 't', partition: 0, offset: 13 }])
})

test('a revoked partition stores nothing', () => {
  const { consumer, stored } = fakeConsumer()
  const committer = new Committer(consumer)
  const state = partition()
  handled(state, 5)
  committer.watermarkMoved(state)
  state.revoke()
  committer.storeDirty()
  assert.deepEqual(stored, [])
})

test('a synchronous commit retries rebalance-type errors with the latest watermark, and skips what is already committed', async () => {
  const { consumer, committed, failures } = fakeConsumer()
  const committer = new Committer(consumer)
  const state = partition()
  handled(state, 7)
  failures.push(27, 27)
  await committer.commitSync([state], 'stop', Date.now() + 5000)
  assert.deepEqual(committed, [[{ topic: 't', partition: 0, offset: 8 }]])
  assert.equal(state.committed, 8)
  await committer.commitSync([state], 'stop', Date.now() + 5000)
  assert.equal(committed.length, 1, 'nothing new to commit')
})

test('a revoke gives up quickly on rebalance-type errors, and at once on others', async () => {
  const { consumer, failures } = fakeConsumer()
  const committer = new Committer(consumer)
  const state = partition()
  handled(state, 1)
  for (let i = 0; i < 100; i++) failures.push(27)
  // The generation is over already; the revoke's own deadline is 10 s away.
  await assert.rejects(committer.commitSync([state], 'revoke', Date.now() + 10_000, { generationDeadline: Date.now() }), { code: 'KVP_COMMIT' })
  assert.equal(failures.length, 99, 'one attempt: gave up at the generation deadline, not the revoke deadline')
  // A generation deadline still ahead: rebalance-type errors are retried until it passes.
  failures.length = 0
  failures.push(27, 27)
  handled(state, 2)
  await committer.commitSync([state], 'revoke', Date.now() + 10_000, { generationDeadline: Date.now() + 10_000 })
  assert.deepEqual([failures.length, state.committed], [0, 3], 'retried twice, then committed')
  failures.length = 0
  failures.push(-1)
  handled(state, 3)
  await assert.rejects(committer.commitSync([state], 'stop', Date.now() + 10_000), { code: 'KVP_COMMIT' })
  assert.equal(failures.length, 0, 'any other error: one attempt')
})

/** The done offsets the metadata of a commit records above its offset. */
function mapOf(entry: Kafka.TopicPartitionOffsetAndMetadata | undefined): readonly number[] | undefined {
  if (entry?.metadata === undefined || entry.metadata === null) return undefined
  const { map, problem } = decodeOffsetMap(entry.metadata, entry.offset)
  assert.equal(problem, undefined)
  return map?.done
}

/** Handles the head of every lane but the one that holds `slow`; returns the offsets handled, ascending. */
function handleAllHeadsBut(state: PartitionState, slow: number): number[] {
  const handledOffsets: number[] = []
  for (const lane of state.lanes) {
    const head = lane?.headOffset()
    if (lane === undefined || head === undefined || head < 0 || lane.offsets().includes(slow)) continue
    state.sliceHandled(lane, 1, 0)
    handledOffsets.push(head)
  }
  return handledOffsets.sort((a, b) => a - b)
}

test('a stored watermark carries the offsets done above it as its offset map', () => {
  const { consumer, stored } = fakeConsumer()
  const committer = new Committer(consumer, 4096)
  const state = partition()
  fetchMessages(state, 10, 8)
  handle(state, 10)
  const above = handleAllHeadsBut(state, 11)
  assert.ok(above.length > 0)
  committer.watermarkMoved(state)
  committer.storeDirty()
  assert.equal(stored[0]?.[0]?.offset, 11)
  assert.deepEqual(mapOf(stored[0]?.[0]), above)
})

test('a map that changed under a watermark that did not move is committed on its own, once per change; maps off (0 bytes) commit none', () => {
  const { consumer, asyncCommits } = fakeConsumer()
  const committer = new Committer(consumer, 4096)
  const state = partition()
  fetchMessages(state, 0, 16)
  committer.commitChangedMaps([state])
  assert.equal(asyncCommits.length, 0, 'nothing done above the watermark: nothing to commit')
  const first = handleAllHeadsBut(state, 0)
  committer.commitChangedMaps([state])
  assert.equal(asyncCommits.length, 1)
  assert.equal(asyncCommits[0]?.[0]?.offset, 0, 'the watermark stays at the slow message')
  assert.deepEqual(mapOf(asyncCommits[0]?.[0]), first)
  committer.commitChangedMaps([state])
  assert.equal(asyncCommits.length, 1, 'an unchanged map is not sent again')
  const second = handleAllHeadsBut(state, 0)
  committer.commitChangedMaps([state])
  assert.deepEqual(
    mapOf(asyncCommits[1]?.[0]),
    [...first, ...second].sort((a, b) => a - b),
  )
  state.revoke()
  committer.commitChangedMaps([state])
  assert.equal(asyncCommits.length, 2, 'a revoked partition is not committed')

  const off = fakeConsumer()
  const plain = new Committer(off.consumer, 0)
  const other = partition()
  fetchMessages(other, 0, 8)
  handleAllHeadsBut(other, 0)
  plain.commitChangedMaps([other])
  assert.equal(off.asyncCommits.length, 0)
})

test('a revoke commits the map with the watermark, even when only the map changed since the last commit', async () => {
  const { consumer, committed } = fakeConsumer()
  const committer = new Committer(consumer, 4096)
  const state = partition()
  fetchMessages(state, 0, 8)
  handle(state, 0)
  await committer.commitSync([state], 'revoke', Date.now() + 1000)
  assert.deepEqual(committed[0], [{ topic: 't', partition: 0, offset: 1 }])
  const above = handleAllHeadsBut(state, 1)
  await committer.commitSync([state], 'revoke', Date.now() + 1000)
  assert.equal(committed[1]?.[0]?.offset, 1)
  assert.deepEqual(mapOf(committed[1]?.[0]), above)
  await committer.commitSync([state], 'revoke', Date.now() + 1000)
  assert.equal(committed.length, 2, 'nothing changed: nothing committed')
})
