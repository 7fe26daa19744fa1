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

test('liveness fails once the worker pool has had no live thread for the grace period, and recovers when one is back', async (t) => {
  let alive = 2
  const health = new HealthMonitor({ workerGraceMs: 150, sources: { workers: () => ({ alive, configured: 2 }) } })
  t.after(() => health.close())
  assert.equal(health.liveness().ok, true)
  alive = 0
  // A thread being replaced is not a dead pool.
  assert.equal(health.liveness().ok, true)
  await new Promise((resolve) => setTimeout(resolve, 200))
  const dead = health.liveness()
  assert.equal(dead.ok, false)
  assert.match(dead.reasons.join(), /worker pool has no live thread \(of 2\) for \d+ ms/)
  alive = 1
  assert.equal(health.liveness().ok, true)
})

test('readiness needs the consume loop running, and a joined member with no partitions is ready and says why', (t) => {
  let polling = true
  let partitions = 0
  const health = new HealthMonitor({ sources: { polling: () => polling, partitions: () => partitions } })
  t.after(() => health.close())
  assert.equal(health.readiness().ok, false)
  // An empty assignment is still a join: the group has more members than partitions.
  channels.rebalance.publish({ kind: 'assign', partitions: [], generation: 1, cooperative: false })
  const ready = health.readiness()
  assert.equal(ready.ok, true)
  assert.equal(ready.checks?.partitions, 0)
  assert.match(String(ready.checks?.note), /no partitions assigned/)
  partitions = 3
  assert.equal(health.readiness().checks?.note, undefined)
  polling = false
  const stalled = health.readiness()
  assert.deepEqual([stalled.ok, stalled.reasons], [false, ['the consume loop is not running']])
})
