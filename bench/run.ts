/**
 * `npm run bench`: every scenario × system in one process against one Kafka, so the
 * ratios compare like with like. `--brokers` picks the Kafka: librdkafka's embedded
 * cluster (`mock`, the default), an Apache Kafka broker started for the run (`kafka`), or
 * a running cluster (`host:port[,host:port]`); `--peers` adds Confluent Parallel Consumer, a
 * JVM started per run against the same broker. Prints a table, writes
 * bench/results/<timestamp>.json and latest.json (latest-kafka.json on a real broker),
 * the io chart and docs/benchmarks.md.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import Table from 'cli-table3'
import { CPU_ROUNDS, cpuWork, type Scenario } from './handlers/work.js'
import { measureLatency } from './latency.js'
import { openBroker, type BenchBroker } from './lib/broker.js'
import { buildPeer, PARALLEL_CONSUMER, peerVersions, PeerUnavailableError, type BuiltPeer } from './lib/jvm-peer.js'
import { parseBenchArgs } from './lib/cli-args.js'
import { formatMs, formatPass, formatPercent, formatRate, formatRatio } from './lib/format.js'
import { STATS_EVERY_MS } from './lib/poll-handled.js'
import { machineInfo } from './lib/machine.js'
import { ioChartFile, ioKafkaChartFile, latestKafkaResultsFile, latestResultsFile, packageRoot, resultsDir } from './lib/paths.js'
import { peerConcurrencies, planRuns, sizing, type PlannedRun } from './lib/plan.js'
import { createProgress, type BenchProgress } from './lib/progress.js'
import { bestRun, partitionCounts, rateOf, type BenchResults, type FilledTopic, type LatencyResult, type MicroResults, type PeerInfo, type RunResult } from './lib/results.js'
import { judgeTargets } from './lib/targets.js'
import { createdTopics, deleteTopics, freshNames, KEYS, MAX_PREFILL, prefillTopic, SharedTopic, VALUE_BYTES } from './lib/topic-fill.js'
import { SCENARIO_TITLES, THROUGHPUT_HEADER, throughputRows, writeReport } from './report.js'
import { kvpSystem } from './systems/kvp.js'
import { parallelConsumerSystem } from './systems/parallel-consumer.js'
import { runKafkaJs } from './systems/kafkajs.js'
import { runOneAtATime } from './systems/one-at-a-time.js'
import { runRaw } from './systems/raw.js'
import type { System } from './systems/system.js'

/** Runs shorter than this (fast systems finish a prefill in a fraction of a second) are repeated. */
const SHORT_RUN_SECONDS = 1.5
const REPEATS = 3
/** A real broker: a drained topic is grown to the drained run's rate × time box × this, so the next attempt meets the time box. */
const GROWTH_MARGIN = 1.3
/** A real broker: the most times one run grows its topic, and the most a topic may hold. */
const MAX_GROWTHS = 2
const MAX_TOPIC_MESSAGES = 30_000_000

const args = parseBenchArgs(process.argv.slice(2))
const startedAt = new Date()
const machine = machineInfo()
const realBroker = args.brokers.kind !== 'mock'
const size = sizing(args.quick, realBroker, args.partitions)
const { timeBoxMs, maxPartitions } = size
/** How often the benchmark's own resident set is sampled during a run of a system that runs inside it. */
const RSS_EVERY_MS = 100
const peerInfo = args.peers ? await preparePeer() : null
const peer = peerInfo?.built ?? null
const plan = planRuns({
  scenarios: args.scenarios,
  quick: args.quick,
  threads: args.threads,
  threadSweep: args.threadSweep,
  realBroker,
  partitions: args.partitions,
  peers: peer !== null,
})
const withLatency = args.scenarios.includes('io')

console.error(
  `kvp benchmarks (${args.quick ? 'quick' : 'full'}): ${plan.length} runs${withLatency ? ' + latency' : ''}, ` +
    `${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, librdkafka ${machine.librdkafka}`,
)
if (realBroker) {
  console.error(
    `Each run: a fresh consumer group reading from the beginning of one shared topic per partition count ` +
      `(${size.partitions.join(', ')}), created with the admin client and first filled with ${size.count.toLocaleString('en-US')} messages ` +
      `(grown when a run drains it in under ${size.minSeconds} s), ${KEYS} keys, ${VALUE_BYTES}-byte JSON values, time box ${timeBoxMs / 1000} s.`,
  )
} else {
  console.error(
    `Each run: a fresh topic prefilled into partition 0 (at most ${MAX_PREFILL.toLocaleString('en-US')} messages: ` +
      `the embedded cluster keeps 5 MiB / 100k per partition), ${KEYS} keys, ${VALUE_BYTES}-byte JSON values, ` +
      `time box ${timeBoxMs / 1000} s.`,
  )
}

const cpuMicros = measureCpuWork()
let broker: BenchBroker
try {
  broker = await openBroker(args.brokers, (line) => console.error(line))
} catch (err) {
  console.error(`bench: ${describeError(err)}`)
  process.exit(1)
}
const progress = createProgress(plan.length + (withLatency ? 1 : 0))
const runs: RunResult[] = []
const topics = new Map<number, Promise<SharedTopic>>()
const filled: FilledTopic[] = []
let latency: LatencyResult | null = null
try {
  if (realBroker) runs.push(...(await runInterleaved(plan, broker.bootstrapServers, progress)))
  else for (const planned of plan) runs.push(await runOne(planned, broker.bootstrapServers, progress))
  if (withLatency) latency = await runLatency(broker.bootstrapServers, progress)
} finally {
  progress.stop()
  // An external cluster keeps what it is given: take the (gigabytes of) benchmark topics back.
  if (broker.info.kind === 'external') await deleteTopics(broker.bootstrapServers, createdTopics()).catch(() => {})
  await broker.stop()
}

const results: BenchResults = {
  version: 1,
  mode: args.quick ? 'quick' : 'full',
  broker: broker.info,
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine,
  settings: {
    keys: KEYS,
    valueBytes: VALUE_BYTES,
    maxPrefill: size.count,
    timeBoxMs,
    partitionsSweep: [...size.partitions],
    minMeasuredSeconds: size.minSeconds,
    threads: args.threads,
    maxPartitionsSweep: [...maxPartitions],
    cpuRounds: CPU_ROUNDS,
    cpuMicrosPerMessage: cpuMicros,
    kvpStatsEveryMs: STATS_EVERY_MS,
    ...(realBroker ? { repeats: args.repeats } : {}),
  },
  ...(realBroker ? { topics: filled } : {}),
  runs,
  ...(peerInfo === null ? {} : { peers: [peerInfo.info] }),
  latency,
  targets: judgeTargets(runs),
  micro: realBroker ? null : await previousMicro(),
}
printResults(results)
await mkdir(resultsDir, { recursive: true })
const stamp = startedAt
  .toISOString()
  .replaceAll(':', '-')
  .replace(/\.\d+Z$/, 'Z')
const stamped = join(resultsDir, `${stamp}${realBroker ? '-kafka' : ''}.json`)
const latestFile = realBroker ? latestKafkaResultsFile : latestResultsFile
const json = `${JSON.stringify(results, null, 2)}\n`
await writeFile(stamped, json)
await writeFile(latestFile, json)
await writeReport()
const written = [stamped, latestFile, realBroker ? ioKafkaChartFile : ioChartFile].map((file) => relative(packageRoot, file))
console.log(`\nwrote ${written.join(', ')}, docs/benchmarks.md`)
// KafkaJS leaves retry timers behind after disconnect; everything of ours is closed.
process.exit(0)

/**
 * Runs one planned run. On the embedded cluster a short one (well under the noise of a
 * shared machine) is repeated and its median kept, so the fast systems' ratios do not rest
 * on one 0.2 s sample. On a real broker a run that drains the shared topic in under the
 * minimum measured span grows the topic and runs again, so every measured span is long.
 */
async function runOne(planned: PlannedRun, bootstrapServers: string, bar: BenchProgress): Promise<RunResult> {
  const first = await runOnce(planned, bootstrapServers, bar)
  if (realBroker) return growWhileDrained(first, planned, bootstrapServers, bar)
  const seconds = first.measurement?.seconds ?? Infinity
  if (first.error !== null || first.measurement?.timeBoxed || seconds >= SHORT_RUN_SECONDS) return first
  const tries = [first]
  bar.extend(REPEATS - 1)
  for (let i = 1; i < REPEATS; i++) tries.push(await runOnce(planned, bootstrapServers, bar))
  return medianOf(tries)
}

/** The run of median rate, with every try's rate (in the order they ran) as its spread. */
function medianOf(tries: RunResult[]): RunResult {
  const measured = tries.filter((run) => rateOf(run) !== null)
  const sorted = [...measured].sort((a, b) => (rateOf(a) ?? 0) - (rateOf(b) ?? 0))
  const median = sorted[Math.floor(sorted.length / 2)] ?? tries[0]
  if (median === undefined) throw new Error('no run to take the median of')
  return { ...median, repeats: measured.map((run) => rateOf(run) ?? 0) }
}

/**
 * A real broker: every planned run once (growing the shared topic where a run drains it too
 * soon), then the whole plan again for each further `--repeats`, in the same order. A
 * cell's tries are spread over the whole benchmark rather than made back to back, so a
 * drift of the machine or the broker (page cache, the JVM warming up, a busy neighbour)
 * lands on every system alike instead of on whichever cells ran during it. Each cell keeps
 * its median try, with every try's rate in the order they ran.
 */
async function runInterleaved(plan: readonly PlannedRun[], bootstrapServers: string, bar: BenchProgress): Promise<RunResult[]> {
  const cells: RunResult[][] = []
  for (const planned of plan) cells.push([await runOne(planned, bootstrapServers, bar)])
  const repeated = cells.filter(([first]) => first?.error === null).length
  if (args.repeats > 1) bar.extend(repeated * (args.repeats - 1))
  for (let i = 1; i < args.repeats; i++) {
    for (const [index, planned] of plan.entries()) {
      const cell = cells[index] as RunResult[]
      if (cell[0]?.error === null) cell.push(await runOnce(planned, bootstrapServers, bar))
    }
  }
  return cells.map((cell) => {
    const first = cell[0] as RunResult
    if (cell.length === 1) return first
    const median = medianOf(cell)
    return first.regrown === undefined ? median : { ...median, regrown: first.regrown }
  })
}

async function growWhileDrained(first: RunResult, planned: PlannedRun, bootstrapServers: string, bar: BenchProgress): Promise<RunResult> {
  let result = first
  const regrown: number[] = []
  while (regrown.length < MAX_GROWTHS && drainedTooSoon(result)) {
    const rate = rateOf(result) ?? 0
    const topic = await topicFor(planned, bootstrapServers, bar)
    const total = Math.min(MAX_TOPIC_MESSAGES, Math.ceil((rate * planned.timeBoxMs * GROWTH_MARGIN) / 1000))
    if (total <= topic.messages) break
    regrown.push(rate)
    await fill(topic, total, bar, `drained in ${result.measurement?.seconds.toFixed(2)} s at ${formatRate(rate)} msg/s`)
    bar.extend(1)
    result = await runOnce(planned, bootstrapServers, bar)
  }
  return regrown.length === 0 ? result : { ...result, regrown }
}

function drainedTooSoon(run: RunResult): boolean {
  const measurement = run.measurement
  return run.error === null && measurement !== null && !measurement.timeBoxed && measurement.seconds < size.minSeconds
}

/** The shared topic of a partition count on a real broker: created and filled by the first run that needs it. */
function topicFor(planned: PlannedRun, bootstrapServers: string, bar: BenchProgress): Promise<SharedTopic> {
  let topic = topics.get(planned.partitions)
  if (topic === undefined) {
    topic = (async () => {
      const created = await SharedTopic.create(bootstrapServers, planned.partitions, broker.info.kind)
      await fill(created, planned.count, bar, 'first fill')
      return created
    })()
    topics.set(planned.partitions, topic)
  }
  return topic
}

async function fill(topic: SharedTopic, total: number, bar: BenchProgress, why: string): Promise<void> {
  const from = topic.messages
  const began = performance.now()
  bar.startRun(`${topic.partitions}-partition topic: fill`, total - from, 'msg')
  await topic.grow(total, (delivered) => bar.update(delivered))
  const seconds = (performance.now() - began) / 1000
  filled.push({ partitions: topic.partitions, from, to: total, seconds, why })
  bar.log(
    `${topic.partitions}-partition topic: ${from.toLocaleString('en-US')} → ${total.toLocaleString('en-US')} messages in ${seconds.toFixed(1)} s ` +
      `(${formatRate((total - from) / seconds)} msg/s; ${why})`,
  )
}

async function runOnce(planned: PlannedRun, bootstrapServers: string, bar: BenchProgress): Promise<RunResult> {
  const where = realBroker ? ` ${planned.partitions}p` : ''
  const label =
    planned.kvp !== null
      ? `${planned.scenario}${where} kvp ${planned.kvp.distribution ?? ''} ${planned.kvp.maxPartitions} lanes ×${planned.kvp.threads} threads`.replace('  ', ' ')
      : planned.maxConcurrency !== undefined
        ? `${planned.scenario}${where} ${planned.system} maxConcurrency ${planned.maxConcurrency}`
        : `${planned.scenario}${where} ${planned.system}`
  const result: RunResult = {
    scenario: planned.scenario,
    system: planned.system,
    kvp: planned.kvp,
    ...(planned.maxConcurrency === undefined ? {} : { maxConcurrency: planned.maxConcurrency }),
    partitions: planned.partitions,
    prefilled: planned.count,
    timeBoxMs: planned.timeBoxMs,
    measurement: null,
    error: null,
  }
  const names = freshNames(`${planned.scenario}-${planned.system}`)
  const began = performance.now()
  try {
    let topic = names.topic
    if (realBroker) {
      const shared = await topicFor(planned, bootstrapServers, bar)
      topic = shared.name
      result.prefilled = shared.messages
    } else {
      bar.startRun(`${label}: prefill`, planned.count, 'msg')
      await prefillTopic(bootstrapServers, topic, planned.count)
    }
    bar.startRun(label, result.prefilled, 'msg')
    // The peak resident set of this process while the system runs in it (a JVM peer measures its own).
    let peakRss = process.memoryUsage.rss()
    const rssSampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
    }, RSS_EVERY_MS)
    try {
      const measurement = await systemOf(planned)({
        bootstrapServers,
        topic,
        groupId: names.groupId,
        scenario: planned.scenario,
        count: result.prefilled,
        timeBoxMs: planned.timeBoxMs,
        onProgress: (handled) => bar.update(handled),
      })
      result.measurement = { ...measurement, peakRssMiB: measurement.peakRssMiB ?? Math.round(peakRss / 2 ** 20) }
    } finally {
      clearInterval(rssSampler)
    }
  } catch (err) {
    result.error = describeError(err)
  }
  const took = `${((performance.now() - began) / 1000).toFixed(1)} s with ${realBroker ? '' : 'prefill, '}join and stop`
  bar.finishRun(result.error === null ? `${label}: ${formatRate(rateOf(result))} msg/s (${took})` : `${label}: error: ${result.error}`)
  return result
}

function systemOf(planned: PlannedRun): System {
  switch (planned.system) {
    case 'raw':
      return runRaw
    case 'one-at-a-time':
      return runOneAtATime
    case 'kafkajs':
      return runKafkaJs
    case 'kvp':
    case 'kvp-consistent':
    case 'kvp-balanced': {
      if (planned.kvp === null) throw new Error('a kvp run without its setup')
      return kvpSystem(planned.kvp)
    }
    case 'parallel-consumer': {
      if (peer === null || peerInfo === null || planned.maxConcurrency === undefined) throw new Error('a parallel-consumer run without its build')
      return parallelConsumerSystem(peer, planned.maxConcurrency, cpuMicros, (started) => {
        peerInfo.info.java = started.java
        peerInfo.info.kafkaClients = started.kafkaClients
        peerInfo.info.cpuMicrosPerMessage ??= started.cpuMicrosPerMessage
      })
    }
  }
}

/**
 * `--peers`: builds Parallel Consumer (from the cache when it can). A missing `java`,
 * `javac` or `mvn`, or a failed build, leaves it out of the plan as "not run: <why>".
 */
async function preparePeer(): Promise<{ built: BuiltPeer | null; info: PeerInfo }> {
  const definition = PARALLEL_CONSUMER
  const versions = await peerVersions(definition)
  const info: PeerInfo = {
    name: 'parallel-consumer',
    title: definition.title,
    artifact: definition.artifact,
    version: versions.version ?? '?',
    kafkaClients: versions.kafkaClients,
    java: null,
    maxConcurrency: peerConcurrencies(maxPartitions),
    notRun: null,
  }
  try {
    const built = await buildPeer(definition, { log: (line) => console.error(`${definition.title}: ${line}`) })
    console.error(`${definition.title} ${built.version} (kafka-clients ${built.kafkaClients ?? '?'}): maxConcurrency ${info.maxConcurrency.join(', ')}, a JVM per run`)
    return { built, info }
  } catch (err) {
    if (!(err instanceof PeerUnavailableError)) throw err
    info.notRun = describeError(err)
    console.error(`${definition.title}: not run: ${info.notRun}`)
    return { built: null, info }
  }
}

/** kvp `io` at half its best rate of this run (on the fewest partitions), with the producer streaming beside it. */
async function runLatency(bootstrapServers: string, bar: BenchProgress): Promise<LatencyResult | null> {
  const partitions = partitionCounts(runs)[0] ?? 1
  const best = bestRun(runs, 'io', 'kvp', partitions)
  const peak = rateOf(best)
  if (best?.kvp == null || peak === null) {
    bar.finishRun('latency: skipped, no kvp io throughput was measured')
    return null
  }
  const durationMs = args.quick ? 4_000 : 8_000
  bar.startRun(`latency: ${formatRate(peak / 2)} msg/s`, durationMs / 1000, 's')
  const measured = await measureLatency({
    bootstrapServers,
    broker: broker.info.kind,
    partitions,
    kvp: best.kvp,
    rate: peak / 2,
    durationMs,
    warmupMs: 1_000,
    onProgress: (ms) => bar.update(Math.floor(ms / 1000)),
  })
  const p = measured.latencyMs
  bar.finishRun(measured.error === null ? `latency at ${formatRate(measured.producedRate)} msg/s: p50 ${formatMs(p?.p50)}, p99 ${formatMs(p?.p99)}` : `latency: error: ${measured.error}`)
  return measured
}

/** An error for the results: its message, without this checkout's location. */
function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.replaceAll(packageRoot, '.')
}

/** Microseconds the `cpu` work takes per message here (best of 5 rounds of 200). */
function measureCpuWork(): number {
  const value = Buffer.from('{"id":12345,"key":"key-345","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}')
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const start = performance.now()
    for (let i = 0; i < 200; i++) cpuWork(value)
    best = Math.min(best, ((performance.now() - start) * 1000) / 200)
  }
  return best
}

/** `npm run bench:micro` results survive a new throughput run. */
async function previousMicro(): Promise<MicroResults | null> {
  if (!existsSync(latestResultsFile)) return null
  try {
    return (JSON.parse(await readFile(latestResultsFile, 'utf8')) as Partial<BenchResults>).micro ?? null
  } catch {
    return null
  }
}

function printResults(all: BenchResults): void {
  const counts = partitionCounts(all.runs)
  for (const partitions of counts) {
    for (const scenario of args.scenarios as Scenario[]) {
      const table = new Table({ head: THROUGHPUT_HEADER, style: { head: [], border: [] } })
      table.push(...throughputRows(all, scenario, partitions))
      const where = realBroker ? `, ${partitions} partition${partitions === 1 ? '' : 's'}` : ''
      console.log(`\n${SCENARIO_TITLES[scenario]}${where}\n${table.toString()}`)
    }
  }
  const targets = new Table({ head: ['scenario', 'partitions', 'target', 'measured', 'result'], style: { head: [], border: [] } })
  for (const target of all.targets) {
    targets.push([target.scenario, String(target.partitions), target.description, target.threshold < 1 ? formatPercent(target.ratio) : formatRatio(target.ratio), formatPass(target.pass)])
  }
  for (const peerRun of all.peers ?? []) {
    if (peerRun.notRun !== null) console.log(`\n${peerRun.title}: not run: ${peerRun.notRun}`)
  }
  console.log(`\ntargets (kvp's best lane count, same run, same partitions)\n${targets.toString()}`)
  if (all.latency !== null) {
    const p = all.latency.latencyMs
    console.log(
      `\nlatency: kvp io, ${all.latency.kvp.maxPartitions} lanes, producer streaming ${formatRate(all.latency.producedRate)} msg/s: ` +
        `p50 ${formatMs(p?.p50)}, p90 ${formatMs(p?.p90)}, p99 ${formatMs(p?.p99)} (${formatRate(p?.samples)} samples)` +
        (all.latency.error === null ? '' : `; error: ${all.latency.error}`),
    )
  }
}
