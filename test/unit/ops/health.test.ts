import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { channels } from '../../../src/diagnostics.js'
import { HealthMonitor } from '../../../src/ops/health.js'

test('readiness: joining until the first assignment, ready after it, draining once the engine stops, each saying why', (t) => {
  const health = new HealthMonitor()
  t.after(() => health.close())
  const joining = health.readiness()
  assert.deepEqual([joining.ok, joining.phase], [false, 'joining'])
  assert.match(joining.reasons.join(), /group join/)
  channels.rebalance.publish({ kind: 'assign', partitions: [{ topic: 't', partition: 0 }], generation: 1, cooperative: false })
  assert.deepEqual(health.readiness(), { ok: true, phase: 'ready', reasons: [], checks: { joined: true } })
  channels.lifecycle.publish({ state: 'stopping' })
  const draining = health.readiness()
  assert.deepEqual([draining.ok, draining.phase], [false, 'draining'])
  assert.match(draining.reasons.join(), /draining/)
  // Liveness is not readiness: a draining engine is alive.
  assert.equal(health.liveness().ok, true)
})

test('liveness fails on a fatal consumer error and names it; a non-fatal one leaves it alive', (t) => {
  const health = new HealthMonitor()
  t.after(() => health.close())
  channels.kafkaError.publish({ error: Object.assign(new Error('broker transport failure'), { isFatal: false }) })
  assert.equal(health.liveness().ok, true)
  channels.kafkaError.publish({ error: Object.assign(new Error('fenced by a newer instance'), { isFatal: true }) })
  const dead = health.liveness()
  assert.equal(dead.ok, false)
  assert.match(dead.reasons.join(), /consumer fatal error: fenced by a newer instance/)
})
