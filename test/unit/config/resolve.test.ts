import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { resolveOptions } from '../../../src/config/resolve.js'
import { ConfigError } from '../../../src/errors.js'

const base = { groupId: 'g', topics: [{ topic: 'orders', handler: './handler.js' }] }

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.code, 'KVP_CONFIG')
    return error.field
  }
  assert.fail('expected an error')
}

test('defaults: embedded cluster, 64 consistent lanes split by key, retries without end, auto offset reset earliest', () => {
  const options = resolveOptions(base)
  assert.equal(options.brokers, 'mock')
  const route = options.routes[0]
  assert.ok(route)
  assert.equal(route.lanes, 64)
  assert.equal(route.distribution, 'consistent')
  assert.equal(route.partitioner, 'key')
  assert.equal(route.maxAttempts, Infinity)
  assert.ok(route.handlerUrl.startsWith('file:///'))
  assert.ok(options.threads >= 2)
  assert.equal(options.fromBeginning, true)
})

test('a dead-letter topic bounds attempts by default', () => {
  const options = resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h.js', deadLetter: { topic: 'a-dlq' } }] })
  assert.equal(options.routes[0]?.maxAttempts, 10)
})

test('virtualPartitions: false gives one lane per partition', () => {
  const route = resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h.js', virtualPartitions: false }] }).routes[0]
  assert.equal(route?.lanes, 1)
  assert.equal(route?.split, false)
})

test('wrong or missing options throw a ConfigError naming the field', () => {
  assert.equal(fieldOf(() => resolveOptions({ topics: base.topics })), 'groupId')
  assert.equal(fieldOf(() => resolveOptions({ groupId: 'g', topics: [] })), 'topics')
  assert.equal(fieldOf(() => resolveOptions({ groupId: 'g', topics: [{ topic: 'a' }] })), 'topics[0].handler')
  assert.equal(fieldOf(() => resolveOptions({ ...base, threads: 0 })), 'threads')
  assert.equal(fieldOf(() => resolveOptions({ ...base, threads: 1.5 })), 'threads')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { maxPartitions: 0 } }] })), 'topics[0].virtualPartitions.maxPartitions')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { distribution: 'random' } }] })), 'topics[0].virtualPartitions.distribution')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: { header: 1 } } }] })), 'topics[0].virtualPartitions.partitioner')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', payload: 'xml' }] })), 'topics[0].payload')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', deadLetter: { topic: 'a' } }] })), 'topics[0].deadLetter.topic')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', retry: { maxAttempts: 0 } }] })), 'topics[0].retry.maxAttempts')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: { protobuf: 'id' } } }] })), 'topics[0].virtualPartitions.partitioner')
  assert.equal(fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h' }, { topic: 'a', handler: 'h' }] })), 'topics[1].topic')
  assert.equal(fieldOf(() => resolveOptions({ ...base, treads: 2 })), 'treads')
  assert.equal(fieldOf(() => resolveOptions({ ...base, backpressure: { resumeRatio: 2 } })), 'backpressure.resumeRatio')
  assert.equal(fieldOf(() => resolveOptions({ ...base, kafka: { 'fetch.wait.max.ms': {} } })), 'kafka.fetch.wait.max.ms')
})

test('with group.protocol=consumer (KIP-848), settings the broker owns are refused before anything starts, each named', () => {
  for (const key of ['session.timeout.ms', 'heartbeat.interval.ms', 'partition.assignment.strategy', 'group.protocol.type']) {
    assert.equal(fieldOf(() => resolveOptions({ ...base, kafka: { 'group.protocol': 'consumer', [key]: 'x' } })), `kafka.${key}`)
  }
  // The classic protocol still takes them, and the consumer protocol takes the rest.
  resolveOptions({ ...base, kafka: { 'group.protocol': 'classic', 'session.timeout.ms': 6000, 'partition.assignment.strategy': 'cooperative-sticky' } })
  resolveOptions({ ...base, kafka: { 'group.protocol': 'consumer', 'group.remote.assignor': 'uniform', 'max.poll.interval.ms': 300000 } })
  assert.equal(fieldOf(() => resolveOptions({ ...base, kafka: { 'group.protocol': 'next' } })), 'kafka.group.protocol')
})

test('librdkafka settings kvp owns are refused while the options are read, before any handler loads', () => {
  assert.equal(fieldOf(() => resolveOptions({ ...base, kafka: { 'enable.auto.offset.store': true } })), 'kafka.enable.auto.offset.store')
})
