import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { checkConsumerSettings, checkProducerSettings } from '../../../src/config/kafka-settings.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import { ConfigError } from '../../../src/errors.js'

/** The ConfigError `f` throws, with its field. */
function configError(f: () => unknown): ConfigError {
  try {
    f()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`)
    return error
  }
  assert.fail('no error thrown')
}

describe('librdkafka settings a user passes through', () => {
  for (const key of ['group.id', 'bootstrap.servers', 'metadata.broker.list', 'enable.auto.offset.store', 'enable.auto.commit', 'rebalance_cb', 'offset_commit_cb']) {
    test(`a consumer setting of ${key}, which kvp owns, is refused with a ConfigError naming it`, () => {
      const error = configError(() => checkConsumerSettings({ [key]: 'x' }))
      assert.equal(error.field, `kafka.${key}`)
      assert.match(error.message, new RegExp(`^kafka\\.${key.replace(/\./g, '\\.')}: cannot be set: `))
      // resolveOptions() runs the check, before any client is made.
      const fromOptions = configError(() => resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js' }], kafka: { [key]: 'x' } }))
      assert.equal(fromOptions.field, `kafka.${key}`)
    })
  }

  test('the consumer group protocol (KIP-848) refuses the settings it moves to the broker, naming the key and the way out', () => {
    for (const key of ['session.timeout.ms', 'heartbeat.interval.ms', 'partition.assignment.strategy', 'group.protocol.type']) {
      const error = configError(() => checkConsumerSettings({ 'group.protocol': 'consumer', [key]: 1 }))
      assert.equal(error.field, `kafka.${key}`)
      assert.match(error.message, /cannot be set with group\.protocol=consumer \(KIP-848\).*use group\.protocol=classic/)
    }
    assert.doesNotThrow(() => checkConsumerSettings({ 'group.protocol': 'classic', 'session.timeout.ms': 6000 }), 'the classic protocol keeps them')
    assert.doesNotThrow(() => checkConsumerSettings({ 'session.timeout.ms': 6000 }), 'classic is the default')
    const unknown = configError(() => checkConsumerSettings({ 'group.protocol': 'share' }))
    assert.equal(unknown.field, 'kafka.group.protocol')
    assert.match(unknown.message, /expected 'classic' or 'consumer', got "share"/)
  })

  test("the engine's producer: the settings kvp owns are refused with a ConfigError naming them; the rest pass", () => {
    for (const key of ['enable.idempotence', 'bootstrap.servers', 'metadata.broker.list', 'dr_cb', 'transactional.id']) {
      const error = configError(() => checkProducerSettings({ [key]: true }))
      assert.equal(error.field, `producer.${key}`)
      const fromOptions = configError(() => resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js' }], producer: { [key]: true } }))
      assert.equal(fromOptions.field, `producer.${key}`)
    }
    assert.doesNotThrow(() => checkProducerSettings({ 'linger.ms': 50, 'compression.type': 'lz4' }))
  })
})
