import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { ioChartPoints, renderIoChart } from '../../../bench/chart.js'
import type { BenchResults, RunResult } from '../../../bench/lib/results.js'
import { judgeTargets } from '../../../bench/lib/targets.js'
import { peerComparisonRows, peerLaneRows, renderReport, throughputRows } from '../../../bench/report.js'
import { kvpSetup } from '../../../bench/systems/kvp.js'

function run(scenario: RunResult['scenario'], system: RunResult['system'], msgPerSec: number | null, lanes?: number, partitions = 1): RunResult {
  return {
    scenario,
    system,
    kvp: lanes === undefined ? null : kvpSetup(lanes, 2),
    partitions,
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
  broker: { kind: 'mock', version: null },
  startedAt: '2025-01-01T00:00:00.000Z',
  finishedAt: '2025-01-01T00:02:00.000Z',
  machine: {
    cpus: 2,
    cpuModel: 'Test CPU',
    totalMemoryGiB: 8,
    platform: 'linux',
    release: '6',
    arch: 'x64',
    node: 'v20.0.0',
    librdkafka: '2.12.0',
    nodeRdkafka: '3.6.1',
    kafkajs: '2.2.4',
    kvp: '0.1.0',
    loadAverage: 0.5,
  },
  settings: {
    keys: 2000,
    valueBytes: 80,
    maxPrefill: 40_000,
    timeBoxMs: 5000,
    partitionsSweep: [1],
    minMeasuredSeconds: 0,
    threads: 2,
    maxPartitionsSweep: [1, 64, 256],
    cpuRounds: 110,
    cpuMicrosPerMessage: 200,
    kvpStatsEveryMs: 5,
  },
  runs,
  latency: null,
  targets: judgeTargets(runs),
  micro: null,
}

test('targets are judged on kvp at their lane count (or its best one), only for scenarios that ran', () => {
  const targets = judgeTargets([...runs, run('cpu', 'one-at-a-time', 1_000), run('cpu', 'kvp', 1_500, 16), run('cpu', 'kvp', 1_900, 64)])
  assert.deepEqual(
    targets.map((t) => [t.scenario, t.threshold, t.pass]),
    [
      ['io', 80, null], // the 256-lane run failed: not measured, even though 64 lanes ran
      ['io', 0.6, null],
      ['noop', 0.85, false], // 16 lanes: 65%
      ['noop', 0.85, null], // no 64-lane run
      ['noop', 0.85, null],
      ['cpu', 1.7, true], // best lane count: 1.9×
    ],
  )
  assert.ok(Math.abs((targets[2]?.ratio ?? 0) - 0.65) < 1e-9)
  assert.ok(Math.abs((targets[5]?.ratio ?? 0) - 1.9) < 1e-9)
})

test('a target without both sides measured is reported as not measured', () => {
  const [target] = judgeTargets([run('cpu', 'kvp', 5000, 16)])
  assert.equal(target?.pass, null)
  assert.equal(target?.ratio, null)
})

test("table rows carry ratios against the same scenario's baselines and name errors", () => {
  const rows = throughputRows(results, 'io')
  assert.equal(rows.length, 6)
  assert.deepEqual(rows[4]?.slice(0, 7), ['kvp', '64', '2', '55,000', '61×', '55%', '95% of 57,600'])
  assert.equal(throughputRows(results, 'noop')[1]?.[6], '—', 'a ceiling only for io')
  assert.equal(rows[5]?.[9], 'error: engine failed to start')
})

test('the chart draws kvp over its lanes and each baseline as a flat line', async () => {
  const points = ioChartPoints(results)
  const raw = points.filter((p) => p.system.startsWith('raw'))
  assert.deepEqual(
    raw.map((p) => [p.maxPartitions, p.msgPerSec]),
    [
      [1, 100_000],
      [64, 100_000],
    ],
  )
  assert.equal(points.filter((p) => p.system.startsWith('kvp')).length, 2) // the failed 256-lane run is left out
  const svg = await renderIoChart(results)
  assert.ok(svg?.startsWith('<svg'))
  assert.match(svg ?? '', /one-at-a-time/)
})

test('the report renders every section from the results alone', () => {
  const doc = renderReport({ mock: results, kafka: null })
  for (const heading of ['# Benchmarks', '## On the embedded cluster', '### Machine', '### Throughput', '### Targets', '### Latency', '## Micro-benchmarks']) {
    assert.ok(doc.includes(`${heading}\n`), heading)
  }
  assert.match(doc, /\| kvp \| 64 \| 2 \| 55,000 \| 61× \| 55% \|/)
  assert.match(doc, /io-throughput\.svg/)
  assert.match(doc, /## On a real broker\n\nNot run yet: `npm run bench -- --brokers kafka`\./)
})

/** The same runs on Apache Kafka, on 1 and 8 partitions, kvp faster on 8. */
const kafkaRuns: RunResult[] = [1, 8].flatMap((partitions) => [
  run('io', 'raw', 200_000, undefined, partitions),
  run('io', 'one-at-a-time', 1_000, undefined, partitions),
  run('io', 'kafkajs', 900, undefined, partitions),
  run('io', 'kvp', 30_000 * partitions, 256, partitions),
])
const kafkaResults: BenchResults = {
  ...results,
  mode: 'full',
  broker: { kind: 'apache-kafka', version: '4.1.1' },
  settings: { ...results.settings, maxPrefill: 2_000_000, timeBoxMs: 6_000, partitionsSweep: [1, 8], minMeasuredSeconds: 5 },
  topics: [{ partitions: 1, from: 0, to: 2_000_000, seconds: 8, why: 'first fill' }],
  runs: kafkaRuns,
  targets: judgeTargets(kafkaRuns),
}

test('targets and ratios on a real broker compare runs on the same partition count only', () => {
  const targets = judgeTargets(kafkaRuns)
  assert.deepEqual(
    targets.map((t) => [t.partitions, t.scenario, t.ratio]),
    [
      [1, 'io', 30],
      [1, 'io', 0.15],
      [8, 'io', 240],
      [8, 'io', 1.2],
    ],
  )
  const rows = throughputRows(kafkaResults, 'io', 8)
  assert.equal(rows.length, 4)
  assert.deepEqual(rows[3]?.slice(0, 7), ['kvp', '256', '2', '240,000', '240×', '120%', '120% of 200,000'], '2,048 lanes: the ceiling is raw consume')
})

test("a run on a real broker gets its own section, beside the embedded cluster's", () => {
  const doc = renderReport({ mock: results, kafka: kafkaResults })
  const mockAt = doc.indexOf('## On the embedded cluster')
  const kafkaAt = doc.indexOf('## On a real broker')
  assert.ok(mockAt > 0 && kafkaAt > mockAt)
  const kafka = doc.slice(kafkaAt, doc.indexOf('## Micro-benchmarks'))
  assert.match(kafka, /Run: \*\*full\*\* \(`npm run bench -- --brokers kafka`\) on Apache Kafka 4\.1\.1/)
  assert.match(kafka, /#### io: a 1 ms await per message, 1 partition\n/)
  assert.match(kafka, /#### io: a 1 ms await per message, 8 partitions\n/)
  assert.match(kafka, /\| 1 \| 0 → 2,000,000 \| 8\.0 s \| 250,000 \| first fill \|/)
  assert.match(kafka, /\| io \| 8 \| kvp at 256 lanes ≥ 80× one-at-a-time \| 240× \| pass \|/)
  assert.match(kafka, /io-throughput-kafka\.svg/)
  // The embedded cluster's section is still there, with its own figures.
  assert.match(doc.slice(mockAt, kafkaAt), /\| kvp \| 64 \| 2 \| 55,000 \| 61× \| 55% \|/)
})

test('results written before real brokers read as embedded-cluster runs on one partition', () => {
  const old = JSON.parse(JSON.stringify(results)) as Record<string, unknown> & { runs: Array<Record<string, unknown>> }
  delete old.broker
  for (const entry of old.runs) delete entry.partitions
  const doc = renderReport({ mock: old as unknown as BenchResults, kafka: null })
  assert.match(doc, /on the embedded cluster, 2025-01-01/)
  assert.match(doc, /\| kvp \| 64 \| 2 \| 55,000 \| 61× \| 55% \|/)
})

test('the memory section shows every runtime, and judges the target on the first', () => {
  const run = (backlog: number, peak: number) => ({ backlog, drained: true, durationMs: 9000, rate: 3000, startRssMiB: 90, peakRssMiB: peak, hwmMiB: peak })
  const doc = renderReport(
    { mock: results, kafka: null },
    {
      at: '2026-01-01T00:00:00.000Z',
      settings: { maxPartitions: 64, threads: 2, handler: 'slow', partitions: 4 },
      runtimes: [
        { runtime: { name: 'image', title: 'as the image runs it' }, runs: [run(10_000, 100), run(100_000, 110)], ratio: 1.1, pass: true },
        { runtime: { name: 'plain', title: 'with plain node' }, runs: [run(10_000, 110), run(100_000, 140)], ratio: 1.273, pass: false },
      ],
      target: 1.15,
    },
  )
  assert.match(doc, /Judged on: `kvp run` as the image runs it\./)
  assert.match(doc, /Also: `kvp run` with plain node\./)
  assert.match(doc, /\*\*1\.1\*\* \(target ≤ 1\.15: met\)/)
  assert.match(doc, /\*\*1\.273\*\* \(target ≤ 1\.15: missed\)/)
  assert.match(doc, /\| 100,000 \| yes \| 9\.0 s \| 3,000 \| 90 MiB \| 140 MiB \|/)
})

test("with peers, the real broker's section sets kvp beside Parallel Consumer and the baselines, throughput and peak RSS", () => {
  const peer = (maxConcurrency: number, msgPerSec: number, partitions: number): RunResult => ({
    ...run('io', 'parallel-consumer', msgPerSec, undefined, partitions),
    maxConcurrency,
    measurement: { handled: 1000, seconds: 1, msgPerSec, timeBoxed: true, startupMs: 900, peakRssMiB: 300 },
  })
  const withRss = kafkaRuns.map((r) => (r.measurement === null ? r : { ...r, measurement: { ...r.measurement, peakRssMiB: 200 } }))
  const runs = [...withRss, peer(256, 15_000, 1), peer(16, 5_000, 1), peer(256, 20_000, 8)]
  const peers = [
    {
      name: 'parallel-consumer' as const,
      title: 'Parallel Consumer',
      artifact: 'io.confluent.parallelconsumer:parallel-consumer-core',
      version: '0.5.3.3',
      kafkaClients: '3.9.2',
      java: '17.0.15',
      maxConcurrency: [16, 256],
      notRun: null,
    },
  ]
  const withPeers: BenchResults = { ...kafkaResults, runs, peers }
  assert.deepEqual(peerComparisonRows(withPeers), [
    ['io', '1', '30,000, 256 lanes · 200 MiB', '15,000, 256 in flight · 300 MiB', '900 · 200 MiB', '1,000 · 200 MiB', '200,000 · 200 MiB', '2.00×'],
    ['io', '8', '240,000, 256 lanes · 200 MiB', '20,000, 256 in flight · 300 MiB', '900 · 200 MiB', '1,000 · 200 MiB', '200,000 · 200 MiB', '12×'],
  ])
  // Like for like: only lane counts both ran (kvp has no 16-lane run here).
  assert.deepEqual(
    peerLaneRows(withPeers).map((row) => row.slice(0, 6)),
    [
      ['io', '1', '256', '30,000', '15,000', '2.00×'],
      ['io', '1', '16', '—', '5,000', '—'],
      ['io', '8', '256', '240,000', '20,000', '12×'],
    ],
  )
  const doc = renderReport({ mock: null, kafka: withPeers })
  assert.match(doc, /### Against Parallel Consumer \(`--peers`\)/)
  assert.match(doc, /parallel-consumer-core:0\.5\.3\.3`, kafka-clients 3\.9\.2, Java 17\.0\.15/)
  assert.match(doc, /\| parallel-consumer \| 256 \(maxConcurrency\) \| 1 \| 15,000 \|/)

  const notRun: BenchResults = { ...kafkaResults, peers: [{ ...(peers[0] as NonNullable<(typeof peers)[0]>), java: null, notRun: '`mvn` was not found on PATH' }] }
  const skipped = renderReport({ mock: null, kafka: notRun })
  assert.match(skipped, /Parallel Consumer \(`io\.confluent\.parallelconsumer:parallel-consumer-core:0\.5\.3\.3`, kafka-clients 3\.9\.2\): \*\*not run\*\*: `mvn` was not found/)
  assert.doesNotMatch(skipped, /Each system's best run/)
  // Without --peers there is no such section at all.
  assert.doesNotMatch(renderReport({ mock: null, kafka: kafkaResults }), /### Against Parallel Consumer/)
})

test('the chart draws a peer over its maxConcurrency, not as a flat line', () => {
  const peerRun: RunResult = { ...run('io', 'parallel-consumer', 15_000), maxConcurrency: 64 }
  const points = ioChartPoints({ ...results, runs: [...runs, peerRun] })
  assert.deepEqual(
    points.filter((point) => point.system.startsWith('parallel-consumer')),
    [{ system: 'parallel-consumer (maxConcurrency)', maxPartitions: 64, msgPerSec: 15_000 }],
  )
})
