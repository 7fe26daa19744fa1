import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { channels } from '../../../src/diagnostics.js'
import type { BackpressureEvent } from '../../../src/diagnostics.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import { Backpressure } from '../../../src/kafka/backpressure.js'
import type { BackpressureLimits } from '../../../src/kafka/backpressure.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

const LIMITS: BackpressureLimits = { maxInFlightPerPartition: 100, maxInFlightBytes: 1000, resumeRatio: 0.5 }

/** A consumer that logs pause and resume calls, and refuses partitions it is told are not assigned. */
function fakeConsumer() {
  const log: string[] = []
  const unassigned = new Set<number>()
  const call = (what: string, partitions: Kafka.TopicPartition[]): void => {
    for (const { topic, partition } of partitions) {
      if (unassigned.has(partition)) throw new Error(`${topic}[${partition}] is not assigned`)
      log.push(`${what} ${topic}[${partition}]`)
    }
  }
  const consumer = {
    pause: (partitions: Kafka.TopicPartition[]) => call('pause', partitions),
    resume: (partitions: Kafka.TopicPartition[]) => call('resume', partitions),
  }
  return { consumer: consumer as unknown as Kafka.KafkaConsumer, log, unassigned }
}

const route = (() => {
  const route = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js' }] }).routes[0]
  assert.ok(route)
  return route
})()

const nextOffset = new WeakMap<PartitionState, number>()

/**
 * Brings a partition's in-flight count to `count` the way the engine does: by fetching
 * messages into its lanes, or by handling them.
 */
function setInFlight(state: PartitionState, count: number): void {
  if (state.inFlight < count) {
    const from = nextOffset.get(state) ?? 0
    const messages: Kafka.Message[] = Array.from({ length: count - state.inFlight }, (_, i) => ({
      topic: 't',
      partition: state.partition,
      offset: from + i,
      key: Buffer.from(`k${i % 8}`),
      value: Buffer.from('v'),
      size: 1,
    }))
    nextOffset.set(state, from + messages.length)
    state.accept(messages, [])
  }
  for (const lane of state.lanes) {
    while (lane && lane.size > 0 && state.inFlight > count) state.sliceHandled(lane, 1, 0)
  }
  assert.equal(state.inFlight, count)
}

/** A partition with `inFlight` messages in its lanes. */
function partition(index: number, inFlight = 0): PartitionState {
  const state = new PartitionState('t', index, route, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 4))
  setInFlight(state, inFlight)
  return state
}

function setup(limits: BackpressureLimits = LIMITS) {
  const fake = fakeConsumer()
  return { ...fake, backpressure: new Backpressure(fake.consumer, limits) }
}

test('a partition is paused once one more batch would reach its high-water mark', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 89)
  backpressure.afterFetch(state, 0, () => [state], 10)
  assert.deepEqual(log, [], '89 + a batch of 10 stays below 100')
  assert.equal(state.paused, false)
  setInFlight(state, 90)
  backpressure.afterFetch(state, 0, () => [state], 10)
  assert.deepEqual(log, ['pause t[0]'], '90 + a batch of 10 reaches 100')
  assert.equal(state.paused, true)
  assert.equal(backpressure.pauses, 1)
  setInFlight(state, 120)
  backpressure.afterFetch(state, 0, () => [state], 10)
  assert.deepEqual(log, ['pause t[0]'], 'a paused partition is not paused again')
  assert.equal(backpressure.pauses, 1)
})

test('only the partition over its mark is paused, not its neighbours', () => {
  const { backpressure, log } = setup()
  const busy = partition(0, 95)
  const quiet = partition(1, 5)
  backpressure.afterFetch(busy, 0, () => [busy, quiet], 10)
  backpressure.afterFetch(quiet, 0, () => [busy, quiet], 10)
  assert.deepEqual(log, ['pause t[0]'])
  assert.equal(quiet.paused, false)
})

test('a paused partition resumes once its in-flight count falls to resumeRatio of the mark', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 95)
  backpressure.afterFetch(state, 0, () => [state], 10)
  setInFlight(state, 51)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]'], '51 is above 100 * 0.5')
  assert.equal(state.paused, true)
  setInFlight(state, 50)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]', 'resume t[0]'])
  assert.equal(state.paused, false)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]', 'resume t[0]'], 'resumed once')
})

test('the room kept for the poll in flight is that poll’s size, not the largest poll', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 80)
  backpressure.afterFetch(state, 0, () => [state], 10)
  assert.deepEqual(log, [], '80 + a small poll of 10 stays below 100')
  backpressure.afterFetch(state, 0, () => [state], 20)
  assert.deepEqual(log, ['pause t[0]'], '80 + a poll of 20 reaches 100')
})

test('in-flight bytes at maxInFlightBytes pause every partition, however few messages each has', () => {
  const { backpressure, log } = setup()
  const states = [partition(0, 1), partition(1, 0), partition(2, 2)]
  backpressure.afterFetch(states[0] as PartitionState, 999, () => states, 0)
  assert.deepEqual(log, [], 'below the byte limit')
  backpressure.afterFetch(states[0] as PartitionState, 1000, () => states, 0)
  assert.deepEqual(log, ['pause t[0]', 'pause t[1]', 'pause t[2]'])
  assert.ok(states.every((s) => s.paused))
  assert.equal(backpressure.pauses, 3)
  backpressure.afterFetch(states[1] as PartitionState, 5000, () => states, 10)
  assert.equal(backpressure.pauses, 3, 'nothing is paused twice')
})

test("the byte limit keeps room for the poll in flight, at the partition's bytes per message", () => {
  const { backpressure, log } = setup()
  const state = partition(0, 4)
  const perMessage = state.bytes / state.inFlight
  assert.ok(perMessage > 0)
  // Room for exactly the poll in flight: not paused; one message less of room: paused.
  backpressure.afterFetch(state, 1000 - 3 * perMessage - 1, () => [state], 3)
  assert.deepEqual(log, [])
  backpressure.afterFetch(state, 1000 - 3 * perMessage, () => [state], 3)
  assert.deepEqual(log, ['pause t[0]'])
})

test('after a byte pause nothing resumes until the bytes fall to resumeRatio of the limit', () => {
  const { backpressure, log } = setup()
  const low = partition(0, 1)
  const high = partition(1, 80)
  backpressure.afterFetch(low, 2000, () => [low, high], 10)
  log.length = 0
  backpressure.afterAcks(501)
  assert.deepEqual(log, [], '501 bytes is above 1000 * 0.5')
  backpressure.afterAcks(500)
  assert.deepEqual(log, ['resume t[0]'], 'the bytes are low again; the busy partition stays paused for its own count')
  assert.equal(high.paused, true)
  setInFlight(high, 50)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['resume t[0]', 'resume t[1]'])
})

test('a partition already paused for its count is not paused again by the byte limit', () => {
  const { backpressure, log } = setup()
  const busy = partition(0, 95)
  const other = partition(1, 0)
  backpressure.afterFetch(busy, 0, () => [busy, other], 10)
  backpressure.afterFetch(other, 1000, () => [busy, other], 10)
  assert.deepEqual(log, ['pause t[0]', 'pause t[1]'])
  assert.equal(backpressure.pauses, 2)
})

test('forget() of a paused partition resumes it in the consumer, so a later owner fetches it', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 95)
  backpressure.afterFetch(state, 0, () => [state], 10)
  state.revoke()
  backpressure.forget(state)
  assert.deepEqual(log, ['pause t[0]', 'resume t[0]'])
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]', 'resume t[0]'], 'no longer tracked')
})

test('forget() of a partition that is not paused leaves the consumer alone', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 3)
  backpressure.afterFetch(state, 0, () => [state], 10)
  backpressure.forget(state)
  assert.deepEqual(log, [])
})

test('forget() tolerates a consumer that no longer has the partition', () => {
  const { backpressure, log, unassigned } = setup()
  const state = partition(0, 95)
  backpressure.afterFetch(state, 0, () => [state], 10)
  unassigned.add(0)
  assert.doesNotThrow(() => backpressure.forget(state))
  assert.deepEqual(log, ['pause t[0]'])
})

test('a byte pause does not outlive the partitions it paused: once all are forgotten, the limit is judged afresh', () => {
  const { backpressure, log } = setup()
  const a = partition(0, 0)
  const b = partition(1, 0)
  backpressure.afterFetch(a, 1000, () => [a, b], 10)
  backpressure.forget(a)
  backpressure.forget(b)
  log.length = 0
  const c = partition(2, 0)
  backpressure.afterFetch(c, 1000, () => [c], 10)
  assert.deepEqual(log, ['pause t[2]'], 'a new partition over the byte limit is paused')
})

test('while one byte-paused partition remains, forgetting another does not lift the byte pause', () => {
  const { backpressure, log } = setup()
  const a = partition(0, 0)
  const b = partition(1, 0)
  backpressure.afterFetch(a, 1000, () => [a, b], 10)
  backpressure.forget(a)
  log.length = 0
  backpressure.afterAcks(900)
  assert.deepEqual(log, [], 'the bytes are still above the resume mark')
  assert.equal(b.paused, true)
})

test('afterAcks() never resumes a revoked partition, however low its count', () => {
  const { backpressure, log } = setup()
  const state = partition(0, 95)
  backpressure.afterFetch(state, 0, () => [state], 10)
  state.revoke()
  setInFlight(state, 0)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]'])
})

test('a partition the consumer refuses to pause is not marked paused', () => {
  const { backpressure, log, unassigned } = setup()
  const state = partition(0, 95)
  unassigned.add(0)
  backpressure.afterFetch(state, 0, () => [state], 10)
  assert.equal(state.paused, false)
  assert.equal(backpressure.pauses, 0)
  assert.deepEqual(log, [])
})

test('kvp:backpressure events say which partition was paused or resumed and its in-flight count', (t) => {
  const events: BackpressureEvent[] = []
  t.after(channels.backpressure.subscribe((e) => events.push(e)))
  const { backpressure } = setup()
  const state = partition(3, 92)
  backpressure.afterFetch(state, 0, () => [state], 10)
  setInFlight(state, 40)
  backpressure.afterAcks(0)
  assert.deepEqual(events, [
    { topic: 't', partition: 3, paused: true, inFlight: 92 },
    { topic: 't', partition: 3, paused: false, inFlight: 40 },
  ])
})

test("a partition revoked while paused stays listed through other partitions' acks, so forget() still resumes it in the consumer", () => {
  const { backpressure, log } = setup()
  const revoked = partition(0, 95)
  const other = partition(1, 0)
  backpressure.afterFetch(revoked, 0, () => [revoked, other], 10)
  revoked.revoke()
  // The revoke commits before forget(): acks of other partitions arrive meanwhile.
  backpressure.afterAcks(0)
  backpressure.forget(revoked)
  assert.deepEqual(log, ['pause t[0]', 'resume t[0]'], 'librdkafka keeps an application pause across a reassignment: it must be lifted')
})

test('a partition stopped at a batch it cannot read is paused and never resumed, whatever drains', () => {
  const { backpressure, log } = setup()
  const stopped = partition(0, 10)
  stopped.stopAt(10)
  backpressure.stop(stopped)
  assert.deepEqual(log, ['pause t[0]'])
  assert.equal(stopped.accepts(9), true)
  assert.equal(stopped.accepts(10), false)
  setInFlight(stopped, 0)
  backpressure.afterAcks(0)
  assert.deepEqual(log, ['pause t[0]'])
  // The earliest unreadable offset wins.
  stopped.stopAt(20)
  assert.equal(stopped.stoppedAt, 10)
  stopped.stopAt(4)
  assert.equal(stopped.stoppedAt, 4)
})
