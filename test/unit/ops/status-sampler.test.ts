import { strict as assert } from 'node:assert'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { channels } from '../../../src/diagnostics.js'
import { KvpError } from '../../../src/errors.js'
import { StatusSampler } from '../../../src/ops/status-sampler.js'
import type { PartitionStats } from '../../../src/stats.js'
import { fakeEngine } from '../../helpers/fake-engine.js'

function partition(topic: string, index: number, handled: number, lag: number): PartitionStats {
  return {
    topic,
    partition: index,
    fetched: handled,
    handled,
    inFlight: 0,
    watermark: handled,
    committed: handled,
    lanes: 8,
    activeLanes: 0,
    busyLanes: 0,
    queuedLanes: 0,
    retryingLanes: 0,
    highWatermark: handled + lag,
    lag,
    lagSeconds: 0,
    paused: false,
    failures: 0,
    deadLettered: 0,
    redelivered: 0,
    skippedDone: 0,
  }
}

test('the sampler keeps a bounded history of throughput and lag per partition, with gaps while a partition is not assigned', async (t) => {
  const { engine, set } = fakeEngine()
  // Three samples of history at most.
  const sampler = new StatusSampler(engine, { intervalMs: 60_000, historyMs: 180_000 })
  t.after(() => sampler.close())
  set([partition('a', 0, 0, 10)])
  // The time between the two samples lies between these bounds, however long the wait took.
  const firstStarted = performance.now()
  sampler.sample()
  const firstEnded = performance.now()
  await new Promise((resolve) => setTimeout(resolve, 100))
  set([partition('a', 0, 100, 5), partition('b', 0, 0, 1)])
  const secondStarted = performance.now()
  sampler.sample()
  const secondEnded = performance.now()
  let history = sampler.history()
  assert.equal(history.t.length, 2)
  const rate = history.partitions['a/0']?.handledPerSec[1] ?? 0
  // 100 messages over the time between the samples (the rate is rounded to 0.1).
  const slowest = 100 / ((secondEnded - firstStarted) / 1000)
  const fastest = 100 / ((secondStarted - firstEnded) / 1000)
  assert.ok(rate >= slowest - 0.05 && rate <= fastest + 0.05, `rate ${rate}, expected ${slowest.toFixed(1)}..${fastest.toFixed(1)}`)
  assert.deepEqual(history.partitions['a/0']?.lag, [10, 5])
  assert.deepEqual(history.partitions['b/0']?.handledPerSec, [null, 0])
  assert.deepEqual(history.lag, [10, 6])
  set([partition('b', 0, 10, 0)])
  sampler.sample()
  sampler.sample()
  history = sampler.history()
  assert.equal(history.t.length, 3)
  assert.deepEqual(history.partitions['a/0']?.lag, [5, null, null])
  set([partition('b', 0, 10, 0)])
  sampler.sample()
  // Gone for the whole window: dropped.
  assert.equal(sampler.history().partitions['a/0'], undefined)
  assert.ok(sampler.sampleMs.count === 5 && sampler.sampleMs.max >= 0)
})

test('the sampler keeps the last errors, dead letters and rebalances, bounded, with long messages cut', (t) => {
  const { engine } = fakeEngine()
  const sampler = new StatusSampler(engine, { intervalMs: 60_000, events: 3 })
  t.after(() => sampler.close())
  for (let offset = 0; offset < 5; offset++) {
    channels.handlerError.publish({ topic: 't', partition: 0, offset, attempt: 1, error: new KvpError('KVP_HANDLER', 'x'.repeat(2000)), willRetry: true, delayMs: 10 })
  }
  channels.deadLetter.publish({ topic: 't', partition: 1, offset: 9, deadLetterTopic: 'dlq', error: new KvpError('KVP_DECODE', 'bad json') })
  channels.rebalance.publish({ kind: 'assign', partitions: [{ topic: 't', partition: 0 }], generation: 4, cooperative: true })
  assert.deepEqual(
    sampler.errors.map((e) => e.offset),
    [2, 3, 4],
  )
  assert.equal(sampler.errors[0]?.message.length, 500)
  assert.deepEqual(
    sampler.deadLetters.map((d) => [d.partition, d.offset, d.code, d.deadLetterTopic]),
    [[1, 9, 'KVP_DECODE', 'dlq']],
  )
  assert.deepEqual(
    sampler.rebalances.map((r) => [r.kind, r.generation, r.cooperative, r.partitions]),
    [['assign', 4, true, [{ topic: 't', partition: 0 }]]],
  )
})
