import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { channels } from '../../../src/diagnostics.js'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { FetchPositions } from '../../../src/kafka/fetch-positions.js'
import { collectEvents } from '../../helpers/events.js'
import { fetchMessages, handleAll, partitionState } from '../../helpers/partitions.js'

/** A consumer whose fetch positions the test sets; it logs what it is asked, and throws on demand. */
function fakeConsumer() {
  const positions = new Map<string, number>()
  const asked: string[][] = []
  let failure: Error | undefined
  const consumer = {
    position(toppars: Kafka.TopicPartition[]): Kafka.TopicPartitionOffset[] {
      asked.push(toppars.map(({ topic, partition }) => `${topic}[${partition}]`))
      if (failure) throw failure
      return toppars.flatMap(({ topic, partition }) => {
        const offset = positions.get(`${topic}[${partition}]`)
        return offset === undefined ? [] : [{ topic, partition, offset }]
      })
    },
  }
  return {
    consumer: consumer as unknown as Kafka.KafkaConsumer,
    asked,
    at: (state: PartitionState, offset: number) => positions.set(`${state.topic}[${state.partition}]`, offset),
    fail: (error: Error | undefined) => {
      failure = error
    },
  }
}

function setup() {
  const fake = fakeConsumer()
  const moved: PartitionState[] = []
  return { ...fake, moved, positions: new FetchPositions(fake.consumer, (state) => moved.push(state)) }
}

/** A partition that fetched and handled offsets 0..`count - 1`. */
function handled(partition: number, count = 5): PartitionState {
  const state = partitionState('t', partition)
  fetchMessages(state, 0, count)
  handleAll(state)
  assert.equal(state.watermark(), count)
  return state
}

test('a position past the last message (transaction markers) moves the watermark there, and says so', () => {
  const { positions, at, moved } = setup()
  const state = handled(0)
  at(state, 7)
  positions.advance([state])
  assert.equal(state.watermark(), 7)
  assert.deepEqual(moved, [state])
  positions.advance([state])
  assert.deepEqual(moved, [state], 'the same position moves nothing again')
})

test('with messages still pending, the position is kept: the watermark reaches it once they are done', () => {
  const { positions, at, moved } = setup()
  const state = partitionState('t', 0)
  fetchMessages(state, 0, 5)
  at(state, 9)
  positions.advance([state])
  assert.equal(state.watermark(), 0, 'nothing is done yet')
  assert.deepEqual(moved, [])
  assert.equal(handleAll(state), true)
  assert.equal(state.watermark(), 9, 'the skipped offsets 5-8 need no handling')
})

test('only owned partitions that fetched something, are not draining and did not stop are asked about', () => {
  const { positions, at, asked, moved } = setup()
  const owned = handled(0)
  const revoked = handled(1)
  revoked.revoke()
  const draining = handled(2)
  draining.startDraining()
  const stopped = handled(3)
  stopped.stopAt(5)
  const unfetched = partitionState('t', 4)
  for (const state of [owned, revoked, draining, stopped, unfetched]) at(state, 8)
  positions.advance([owned, revoked, draining, stopped, unfetched])
  assert.deepEqual(asked, [['t[0]']])
  assert.deepEqual(moved, [owned])
  assert.equal(owned.watermark(), 8)
  for (const state of [revoked, draining, stopped]) assert.equal(state.watermark(), 5, `partition ${state.partition} keeps its watermark`)
  assert.equal(unfetched.watermark(), undefined, 'a partition that fetched nothing is left alone: its position may be the last assignment’s')
})

test('with no partition to advance, the consumer is not asked at all', () => {
  const { positions, asked } = setup()
  const revoked = handled(0)
  revoked.revoke()
  positions.advance([revoked, partitionState('t', 1)])
  positions.advance([])
  assert.deepEqual(asked, [])
})

test('an unknown position (none yet, or a partition the consumer does not report) moves nothing', () => {
  const { positions, at, moved } = setup()
  const unknown = handled(0)
  const missing = handled(1)
  at(unknown, -1001)
  positions.advance([unknown, missing])
  assert.deepEqual(moved, [])
  assert.equal(unknown.watermark(), 5)
  assert.equal(missing.watermark(), 5)
})

test('a position error is published on kvp:kafka-error, not thrown, and the next call catches up', (t) => {
  const errors = collectEvents(t, channels.kafkaError)
  const { positions, at, fail, moved } = setup()
  const state = handled(0)
  at(state, 6)
  const error = new Error('Local: Erroneous state')
  fail(error)
  assert.doesNotThrow(() => positions.advance([state]))
  assert.deepEqual(
    errors.map((e) => e.error),
    [error],
  )
  assert.deepEqual(moved, [])
  fail(undefined)
  positions.advance([state])
  assert.equal(state.watermark(), 6)
})
