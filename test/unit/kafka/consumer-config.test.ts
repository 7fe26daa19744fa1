import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { consumerConfig, FETCH_TUNING } from '../../../src/kafka/consumer-config.js'

const rebalance = (_err: Kafka.LibrdKafkaError, _assignment: Kafka.Assignment[]): void => {}

function config(options: Record<string, unknown> = {}) {
  const resolved = resolveOptions({ groupId: 'orders', topics: [{ topic: 't', handler: 'h.js' }], ...options })
  return consumerConfig(resolved, 'broker-1:9092,broker-2:9092', rebalance) as unknown as { global: Record<string, unknown>; topic: Record<string, unknown> }
}

test('the settings kvp owns are its own: the brokers, the group, the offset store and commits, the callbacks', () => {
  const { global } = config()
  assert.equal(global['bootstrap.servers'], 'broker-1:9092,broker-2:9092')
  assert.equal(global['group.id'], 'orders')
  assert.equal(global['enable.auto.offset.store'], false, 'only the contiguous watermark is stored')
  assert.equal(global['enable.auto.commit'], true, "stored watermarks are committed on librdkafka's interval")
  assert.equal(global.rebalance_cb, rebalance)
  assert.equal(global.offset_commit_cb, true)
  assert.equal(global['isolation.level'], undefined, "at-least-once leaves the isolation level to librdkafka's default")
})

test('user settings pass through and win over kvp’s defaults (client id, commit interval, fetch tuning)', () => {
  const { global } = config({ kafka: { 'client.id': 'mine', 'auto.commit.interval.ms': 250, 'fetch.wait.max.ms': 500, 'socket.keepalive.enable': true, log_level: 7 } })
  assert.equal(global['client.id'], 'mine')
  assert.equal(global['auto.commit.interval.ms'], 250)
  assert.equal(global['fetch.wait.max.ms'], 500)
  assert.equal(global['socket.keepalive.enable'], true)
  assert.equal(global.log_level, 7)
  assert.equal(global['queued.min.messages'], FETCH_TUNING['queued.min.messages'], 'the rest of the fetch tuning stays')
})

test('without user settings, the consumer fetches with FETCH_TUNING and commits every second', () => {
  const { global } = config()
  for (const [key, value] of Object.entries(FETCH_TUNING)) assert.equal(global[key], value, key)
  assert.equal(global['client.id'], 'kvp')
  assert.equal(global['auto.commit.interval.ms'], 1000)
})

test('exactly-once forces read_committed and turns auto commit off, whatever the user set', () => {
  const resolved = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js' }], exactlyOnce: true })
  // resolveOptions() refuses another isolation level with exactlyOnce; consumerConfig() forces it all the same.
  resolved.kafka['isolation.level'] = 'read_uncommitted'
  const global = consumerConfig(resolved, 'b:1', rebalance).global as unknown as Record<string, unknown>
  assert.equal(global['isolation.level'], 'read_committed', 'records of aborted transactions are never read')
  assert.equal(global['enable.auto.commit'], false, 'offsets are committed only inside transactions')
  assert.equal(global['enable.auto.offset.store'], false)
})

test('auto.offset.reset follows fromBeginning, unless the user set it', () => {
  assert.equal(config().topic['auto.offset.reset'], 'earliest', 'fromBeginning is the default')
  assert.equal(config({ fromBeginning: true }).topic['auto.offset.reset'], 'earliest')
  assert.equal(config({ fromBeginning: false }).topic['auto.offset.reset'], 'latest')
  const user = config({ fromBeginning: true, kafka: { 'auto.offset.reset': 'latest' } })
  assert.equal(user.global['auto.offset.reset'], 'latest', 'the user’s setting goes through')
  assert.equal('auto.offset.reset' in user.topic, false, 'and the topic setting does not shadow it')
})
