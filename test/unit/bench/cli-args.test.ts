import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { parseBrokers, readBenchArgs } from '../../../bench/lib/cli-args.js'
import { KAFKA_FULL, KAFKA_QUICK, peerConcurrencies, planRuns, sizing } from '../../../bench/lib/plan.js'

test('the benchmark runs on the embedded cluster unless --brokers says otherwise', () => {
  const args = readBenchArgs([])
  assert.deepEqual(args.brokers, { kind: 'mock' })
  assert.equal(args.partitions, null)
  assert.deepEqual(args.scenarios, ['io', 'cpu', 'noop'])
})

test('--brokers takes mock, kafka or host:port addresses', () => {
  assert.deepEqual(parseBrokers('mock'), { kind: 'mock' })
  assert.deepEqual(parseBrokers('kafka'), { kind: 'kafka' })
  assert.deepEqual(parseBrokers('localhost:9092'), { kind: 'external', address: 'localhost:9092' })
  assert.deepEqual(parseBrokers('10.0.0.1:9092,10.0.0.2:9093'), { kind: 'external', address: '10.0.0.1:9092,10.0.0.2:9093' })
  assert.deepEqual(readBenchArgs(['--brokers', 'kafka', '--quick', '--scenario', 'noop']).brokers, { kind: 'kafka' })
})

test('a bad --brokers value is an error that names the flag', () => {
  for (const bad of ['', 'redpanda', 'localhost', 'localhost:', 'host:9092,', 'host:99999', 'a b:1']) {
    assert.throws(
      () => readBenchArgs(['--brokers', bad]),
      (err: Error) => err.name === 'BenchUsageError' && err.message.startsWith('--brokers:'),
      bad,
    )
  }
  assert.throws(() => readBenchArgs(['--brokers']), /brokers/)
})

test('--partitions needs a real broker and positive integers', () => {
  assert.deepEqual(readBenchArgs(['--brokers', 'kafka', '--partitions', '1,4,4']).partitions, [1, 4])
  assert.throws(() => readBenchArgs(['--partitions', '4']), /^BenchUsageError: --partitions: needs a real broker/)
  assert.throws(() => readBenchArgs(['--brokers', 'kafka', '--partitions', '0']), /--partitions: expected positive integers/)
  assert.throws(() => readBenchArgs(['--threads', 'x']), /--threads/)
  assert.throws(() => readBenchArgs(['--scenario', 'disk']), /--scenario/)
})

test('the embedded cluster plan stays one partition of at most 40,000 messages', () => {
  const plan = planRuns({ scenarios: ['io'], quick: false, threads: 2 })
  assert.deepEqual([...new Set(plan.map((run) => run.partitions))], [1])
  assert.ok(plan.every((run) => run.count === 40_000 && run.timeBoxMs === 5_000))
  // 3 baselines, kvp at 5 lane counts, kvp consistent and balanced at the 2 from 64 up.
  assert.equal(plan.length, 3 + 5 + 2 + 2)
  assert.ok(
    plan.filter((run) => run.system === 'kvp').every((run) => run.kvp?.distribution === undefined),
    "kvp runs the engine's default",
  )
  assert.deepEqual(
    plan.filter((run) => run.system === 'kvp-consistent' || run.system === 'kvp-balanced').map((run) => [run.kvp?.maxPartitions, run.kvp?.distribution]),
    [
      [64, 'consistent'],
      [256, 'consistent'],
      [64, 'balanced'],
      [256, 'balanced'],
    ],
  )
})

test('a real broker plan covers 1 and 8 partitions with realistic sizes, quick a short smoke of it', () => {
  const plan = planRuns({ scenarios: ['io', 'noop'], quick: false, threads: 2, realBroker: true })
  assert.deepEqual([...new Set(plan.map((run) => run.partitions))], [1, 8])
  // io on each partition count: consistent and balanced at 64 and 256 lanes too.
  assert.equal(plan.length, 2 * 2 * (3 + 5) + 2 * 2 * 2)
  assert.ok(KAFKA_FULL.count >= 500_000 && KAFKA_FULL.minSeconds >= 5 && KAFKA_FULL.timeBoxMs >= KAFKA_FULL.minSeconds * 1000)
  assert.ok(plan.every((run) => run.count === KAFKA_FULL.count && run.timeBoxMs === KAFKA_FULL.timeBoxMs))
  const quick = planRuns({ scenarios: ['io', 'cpu', 'noop'], quick: true, threads: 2, realBroker: true })
  assert.equal(quick.length, 2 * 3 * (3 + KAFKA_QUICK.maxPartitions.length))
  assert.ok(quick.every((run) => run.count === KAFKA_QUICK.count && run.timeBoxMs === KAFKA_QUICK.timeBoxMs))
  assert.deepEqual(sizing(false, true, [1, 4, 16]).partitions, [1, 4, 16])
})

test('kvp gets enough concurrency for a slice in flight on every lane of every partition', () => {
  const plan = planRuns({ scenarios: ['io'], quick: false, threads: 2, realBroker: true })
  const eight = plan.find((run) => run.system === 'kvp' && run.partitions === 8 && run.kvp?.maxPartitions === 256)
  assert.equal(eight?.kvp?.concurrencyPerThread, 1024)
  const one = plan.find((run) => run.system === 'kvp' && run.partitions === 1 && run.kvp?.maxPartitions === 256)
  assert.equal(one?.kvp?.concurrencyPerThread, 128)
})

test('--repeats: 3 on a full real-broker run, 1 when quick, and it needs a real broker', () => {
  assert.equal(readBenchArgs(['--brokers', 'kafka']).repeats, 3)
  assert.equal(readBenchArgs(['--brokers', 'kafka', '--quick']).repeats, 1)
  assert.equal(readBenchArgs(['--brokers', 'kafka', '--repeats', '5']).repeats, 5)
  assert.throws(() => readBenchArgs(['--brokers', 'kafka', '--repeats', '0']), /^BenchUsageError: --repeats: expected an integer 1..9/)
  assert.throws(() => readBenchArgs(['--repeats', '2']), /^BenchUsageError: --repeats: needs a real broker/)
})

test('--peers needs a real broker and is off by default', () => {
  assert.equal(readBenchArgs([]).peers, false)
  assert.equal(readBenchArgs(['--brokers', 'kafka', '--peers']).peers, true)
  assert.equal(readBenchArgs(['--brokers', 'localhost:9092', '--peers']).peers, true)
  assert.throws(() => readBenchArgs(['--peers']), /^BenchUsageError: --peers: needs a real broker/)
})

test("with peers, Parallel Consumer runs after kvp at kvp's lane counts from 16 up; without, the plan is unchanged", () => {
  const options = { scenarios: ['io', 'noop'] as const, quick: false, threads: 2, realBroker: true }
  const without = planRuns({ ...options, scenarios: [...options.scenarios] })
  const withPeers = planRuns({ ...options, scenarios: [...options.scenarios], peers: true })
  assert.deepEqual(planRuns({ ...options, scenarios: [...options.scenarios], peers: false }), without)
  assert.deepEqual(
    withPeers.filter((run) => run.system !== 'parallel-consumer'),
    without,
  )
  const peers = withPeers.filter((run) => run.system === 'parallel-consumer')
  assert.deepEqual(
    peers.map((run) => [run.partitions, run.scenario, run.maxConcurrency]),
    [
      [1, 'io', 16],
      [1, 'io', 64],
      [1, 'io', 256],
      [1, 'noop', 16],
      [1, 'noop', 64],
      [1, 'noop', 256],
      [8, 'io', 16],
      [8, 'io', 64],
      [8, 'io', 256],
      [8, 'noop', 16],
      [8, 'noop', 64],
      [8, 'noop', 256],
    ],
  )
  assert.ok(peers.every((run) => run.kvp === null && run.count === KAFKA_FULL.count && run.timeBoxMs === KAFKA_FULL.timeBoxMs))
  // Each scenario: baselines, kvp's sweep (io: consistent and balanced too), then the peer.
  const firstIo = withPeers.filter((run) => run.partitions === 1 && run.scenario === 'io').map((run) => run.system)
  assert.deepEqual(firstIo.slice(-5), ['kvp-balanced', 'kvp-balanced', 'parallel-consumer', 'parallel-consumer', 'parallel-consumer'])
  assert.deepEqual(peerConcurrencies(KAFKA_QUICK.maxPartitions), [16, 256])
})
