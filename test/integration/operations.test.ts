import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { serveOperations } from '../../src/ops/http-server.js'
import { startScenario, untilHandled } from '../helpers/engine-run.js'
import { useBroker } from '../helpers/broker.js'

const cluster = useBroker()

async function probe(port: number, path: string): Promise<{ status: number; body: { ok: boolean; phase: string; reasons: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: (await res.json()) as { ok: boolean; phase: string; reasons: string[] } }
}

test('/readyz is not ready before the group is joined (when the join is slow enough to see), ready once partitions are assigned, and not ready while draining', async (t) => {
  const { engine } = await startScenario({ bootstrapServers: cluster.bootstrapServers, count: 200, partition: 0 })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false })
  let stopped = false
  t.after(async () => {
    if (!stopped) await engine.stop()
    await ops.close()
  })
  assert.equal(ops.host, '127.0.0.1')
  // Apache Kafka may assign the partitions before the server is up (no initial rebalance
  // delay): the not-ready-before-the-join rule is then checked by the HealthMonitor unit test.
  if (engine.stats().partitions.length === 0) {
    const before = await probe(ops.port, '/readyz')
    if (engine.stats().partitions.length === 0) {
      assert.equal(before.status, 503)
      assert.equal(before.body.phase, 'joining')
      assert.ok(before.body.reasons.length > 0)
    }
  }
  await untilHandled(engine, 200)
  const ready = await probe(ops.port, '/readyz')
  assert.deepEqual([ready.status, ready.body.ok, ready.body.phase], [200, true, 'ready'])
  assert.equal((await probe(ops.port, '/healthz')).status, 200)
  const stopping = engine.stop()
  const draining = await probe(ops.port, '/readyz')
  assert.equal(draining.status, 503)
  assert.match(draining.body.phase, /draining|stopped/)
  await stopping
  stopped = true
  assert.equal((await probe(ops.port, '/readyz')).status, 503)
})

test('/healthz fails while the main thread has been blocked past the threshold, and no endpoint accepts a write', async (t) => {
  const { engine } = await startScenario({ bootstrapServers: cluster.bootstrapServers, count: 50, partition: 0 })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false, stallThresholdMs: 300, stallMemoryMs: 60_000 })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  await untilHandled(engine, 50)
  assert.equal((await probe(ops.port, '/healthz')).status, 200)
  // The test hook: this test blocks the main thread itself, as a runaway synchronous handler of the host would.
  const until = Date.now() + 1_000
  while (Date.now() < until) {}
  await new Promise((resolve) => setTimeout(resolve, 250))
  const unhealthy = await probe(ops.port, '/healthz')
  assert.equal(unhealthy.status, 503)
  assert.equal(unhealthy.body.ok, false)
  assert.match(unhealthy.body.reasons.join('; '), /event loop stalled for \d+ ms \(threshold 300 ms\)/)
  for (const method of ['POST', 'PUT', 'DELETE']) {
    assert.equal((await fetch(`http://127.0.0.1:${ops.port}/status`, { method })).status, 405, method)
  }
  const status = (await (await fetch(`http://127.0.0.1:${ops.port}/status`)).json()) as { totals: { handled: number } }
  assert.equal(status.totals.handled, 50)
})
