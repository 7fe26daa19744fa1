import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { ioChartPoints, renderIoChart } from '../../../bench/chart.js'
import type { BenchResults, RunResult } from '../../../bench/lib/results.js'
import { judgeTargets } from '../../../bench/lib/targets.js'
import { renderReport, throughputRows } from '../../../bench/report.js'
import { kvpSetup } from '../../../bench/systems/kvp.js'

function run(scenario: RunResult['scenario'], system: RunResult['system'], msgPerSec: number | null, lanes?: number): RunResult {
  return {
    scenario,
    system,
    kvp: lanes === undefined ? null : kvpSetup(lanes, 2),
    prefilled: 40_000,
    timeBoxMs: 5_000,
    measurement: msgPerSec === null ? null : { handled: 1000, seconds: 1, msgPerSec, timeBoxed: false, startupMs: 3000 },
    error: msgPerSec === null ? 'engine failed to start' : null,
  }
}

const runs: RunResult[] = [
  run('io', 'raw', 100_000),
  run('io', 'one-at-a-time', 900),
  run('io', 'kafkajs', 850),
  run('io', 'kvp', 900, 1),
  run('io', 'kvp', 55_000, 64),
  run('io', 'kvp', null, 256),
  run('noop', 'raw', 100_000),
  run('noop', 'kvp', 65_000, 16),
]

const results: BenchResults = {
  version: 1,
  mode: 'quick',
  startedAt: '2025-01-01T00:00:00.000Z',
  finishedAt: '2025-01-01T00:02:00.000Z',
  machine: {
    cpus: 2, cpuModel: 'Test CPU', totalMemoryGiB: 8, platform: 'linux', release: '6', arch: 'x64', node: 'v20.0.0',
    librdkafka: '2.12.0', nodeRdkafka: '3.6.1', kafkajs: '2.2.4', kvp: '0.1.0', loadAverage: 0.5,
  },
  settings: {
    keys: 2000, valueBytes: 80, maxPrefill: 40_000, timeBoxMs: 5000, threads: 2, maxPartitionsSweep: [1, 64, 256],
    cpuRounds: 110, cpuMicrosPerMessage: 200, kvpStatsEveryMs: 5,
  },
  runs,
  latency: null,
  targets: judgeTargets(runs),
  micro: null,
}

test('targets are judged on kvp\'s best lane count, only for scenarios that ran', () => {
  const targets = judgeTargets(runs)
  assert.deepEqual(targets.map((t) => [t.scenario, t.threshold, t.pass]), [
    ['io', 40, true], // 55,000 / 900 = 61×
    ['io', 0.5, true], // 55%
    ['noop', 0.7, false], // 65%
  ])
  assert.ok(Math.abs((targets[0]?.ratio ?? 0) - 55_000 / 900) < 1e-9)
})

test('a target without both sides measured is reported as not measured', () => {
  const [target] = judgeTargets([run('cpu', 'kvp', 5000, 16)])
  assert.equal(target?.pass, null)
  assert.equal(target?.ratio, null)
})

test('table rows carry ratios against the same scenario\'s baselines and name errors', () => {
  const rows = throughputRows(results, 'io')
  assert.equal(rows.length, 6)
  assert.deepEqual(rows[4]?.slice(0, 6), ['kvp', '64', '2', '55,000', '61×', '55%'])
  assert.equal(rows[5]?.[8], 'error: engine failed to start')
})

test('the chart draws kvp over its lanes and each baseline as a flat line', async () => {
  const points = ioChartPoints(results)
  const raw = points.filter((p) => p.system.startsWith('raw'))
  assert.deepEqual(raw.map((p) => [p.maxPartitions, p.msgPerSec]), [[1, 100_000], [64, 100_000]])
  assert.equal(points.filter((p) => p.system.startsWith('kvp')).length, 2) // the failed 256-lane run is left out
  const svg = await renderIoChart(results)
  assert.ok(svg?.startsWith('<svg'))
  assert.match(svg ?? '', /one-at-a-time/)
})

test('the report renders every section from the results alone', () => {
  const doc = renderReport(results)
  for (const heading of ['# Benchmarks', '## Machine', '## Throughput', '## Targets', '## Latency', '## Micro-benchmarks']) {
    assert.ok(doc.includes(heading), heading)
  }
  assert.match(doc, /\| kvp \| 64 \| 2 \| 55,000 \| 61× \| 55% \|/)
  assert.match(doc, /io-throughput\.svg/)
})

test('the memory section shows every runtime, and judges the target on the first', () => {
  const run = (backlog: number, peak: number) => ({ backlog, drained: true, durationMs: 9000, rate: 3000, startRssMiB: 90, peakRssMiB: peak, hwmMiB: peak })
  const doc = renderReport(results, {
    at: '2026-01-01T00:00:00.000Z',
    settings: { maxPartitions: 64, threads: 2, handler: 'slow', partitions: 4 },
    runtimes: [
      { runtime: { name: 'image', title: 'as the image runs it' }, runs: [run(10_000, 100), run(100_000, 110)], ratio: 1.1, pass: true },
      { runtime: { name: 'plain', title: 'with plain node' }, runs: [run(10_000, 110), run(100_000, 140)], ratio: 1.273, pass: false },
    ],
    target: 1.15,
  })
  assert.match(doc, /Judged on: `kvp run` as the image runs it\./)
  assert.match(doc, /Also: `kvp run` with plain node\./)
  assert.match(doc, /\*\*1\.1\*\* \(target ≤ 1\.15: met\)/)
  assert.match(doc, /\*\*1\.273\*\* \(target ≤ 1\.15: missed\)/)
  assert.match(doc, /\| 100,000 \| yes \| 9\.0 s \| 3,000 \| 90 MiB \| 140 MiB \|/)
})
