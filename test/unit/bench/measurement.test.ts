import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { ThroughputMeter } from '../../../bench/lib/meter.js'
import { percentiles } from '../../../bench/lib/percentiles.js'

test('percentiles are nearest-rank over the sorted samples', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i) // 100..1, unsorted
  const p = percentiles(values)
  assert.deepEqual([p.samples, p.p50, p.p90, p.p99, p.max], [100, 50, 90, 99, 100])
  assert.ok(Number.isNaN(percentiles([]).p50))
})

test('the meter counts from the first handled message, not from the start of the run', async () => {
  const meter = new ThroughputMeter({ target: 300, timeBoxMs: 60_000 })
  await sleep(50) // a group join: outside the measured span
  assert.equal(meter.add(100), false)
  await sleep(40)
  assert.equal(meter.add(200), true) // target reached
  const result = meter.result()
  assert.equal(result.handled, 300)
  assert.equal(result.timeBoxed, false)
  assert.ok(result.startupMs >= 45, `startup ${result.startupMs}`)
  assert.ok(result.seconds >= 0.035 && result.seconds < 0.5, `seconds ${result.seconds}`)
  // 200 messages after the first observation over the span; the first batch is not counted.
  assert.ok(Math.abs(result.msgPerSec - 200 / result.seconds) < 1e-6)
})

test('the meter stops on its time box and says so', async () => {
  const meter = new ThroughputMeter({ target: 1_000_000, timeBoxMs: 30 })
  assert.equal(meter.add(1), false)
  await sleep(40)
  assert.equal(meter.add(1), true)
  assert.equal(meter.result().timeBoxed, true)
})

test('a meter that sees nothing for its stall limit throws, naming the system', async () => {
  const meter = new ThroughputMeter({ target: 10, timeBoxMs: 1000, stallMs: 20 })
  await sleep(30)
  assert.throws(() => meter.checkStall('kafkajs'), /kafkajs: no message handled/)
})
