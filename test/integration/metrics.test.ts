import { strict as assert } from 'node:assert'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { EngineMetrics } from '../../src/metrics.js'
import { startScenario, untilHandled } from '../helpers/engine-run.js'
import { useBroker } from '../helpers/broker.js'

const cluster = useBroker()

test('Prometheus metrics count handled messages and failures from the diagnostics channels', async (t) => {
  const { engine } = await startScenario({
    bootstrapServers: cluster.bootstrapServers,
    count: 300,
    partition: 0,
    env: { KVP_TEST_FAIL: '7:1' },
    route: { virtualPartitions: { lanes: 8 }, retry: { backoffMs: 10 } },
  })
  const metrics = new EngineMetrics(engine, { defaultMetrics: false })
  const server = await metrics.serve(0, '127.0.0.1')
  t.after(async () => {
    metrics.close()
    server.close()
    await engine.stop()
  })
  await untilHandled(engine, 300)
  const { port } = server.address() as AddressInfo
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const handled = text
    .split('\n')
    .filter((line) => line.startsWith('kvp_messages_handled_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
  assert.equal(handled, 300)
  assert.match(text, /kvp_handler_failures_total\{topic="[^"]+",partition="0",code="KVP_HANDLER"\} 1/)
  assert.match(text, /kvp_committable_offset\{topic="[^"]+",partition="0"\} 300/)
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404)
})
