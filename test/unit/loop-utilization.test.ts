import assert from 'node:assert/strict'
import type { EventLoopUtilization } from 'node:perf_hooks'
import { test } from 'node:test'
import { LoopUtilization } from '../../src/loop-utilization.js'

/** A loop whose idle and active totals the test moves by hand. */
function fakeLoop() {
  const totals = { idle: 0, active: 0 }
  const measure = (current?: EventLoopUtilization, previous?: EventLoopUtilization): EventLoopUtilization => {
    if (current === undefined) return { idle: totals.idle, active: totals.active, utilization: 0 }
    const idle = current.idle - (previous?.idle ?? 0)
    const active = current.active - (previous?.active ?? 0)
    return { idle, active, utilization: active / (idle + active) }
  }
  return { totals, measure }
}

test('a loop utilisation reads 0 until its first window ends, then the last whole window until the next one does', () => {
  const loop = fakeLoop()
  const utilization = new LoopUtilization(loop.measure, 100, 0)
  loop.totals.active += 30
  loop.totals.idle += 20
  assert.equal(utilization.read(50), 0, 'the first window is not over')
  loop.totals.active += 30
  loop.totals.idle += 20
  assert.equal(utilization.read(100), 0.6, '60 of 100 ms busy')
  loop.totals.active += 10
  loop.totals.idle += 40
  assert.equal(utilization.read(150), 0.6, 'the next window is not over: the last value stands')
  loop.totals.active += 10
  loop.totals.idle += 40
  assert.equal(utilization.read(200), 0.2, 'only what happened since the last window counts')
})
