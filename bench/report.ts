/**
 * docs/BENCHMARKS.md and the `io` chart, regenerated from bench/results/latest.json.
 * `npm run bench` calls this at the end; `node dist/bench/report.js` reruns it alone.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { renderIoChart } from './chart.js'
import { Scenarios, type Scenario } from './handlers/work.js'
import { formatMs, formatPass, formatPercent, formatRate, formatRatio } from './lib/format.js'
import { benchmarksDoc, ioChartFile, latestResultsFile, packageRoot, resultsDir } from './lib/paths.js'
import { SWEEP_LANES } from './lib/plan.js'
import { bestRun, ratio, type BenchResults, type RunResult } from './lib/results.js'

export const SCENARIO_TITLES: Readonly<Record<Scenario, string>> = {
  io: 'io: a 1 ms await per message',
  cpu: 'cpu: a fixed ~200 µs of hashing per message',
  noop: 'noop: no work (transport only)',
}

export const THROUGHPUT_HEADER = ['system', 'lanes', 'threads', 'msg/s', '× one-at-a-time', '% of raw', 'handled', 'measured', 'note']

/** One row per run of a scenario, ratios against that scenario's baselines in the same run. */
export function throughputRows(results: BenchResults, scenario: Scenario): string[][] {
  const runs = results.runs.filter((run) => run.scenario === scenario)
  const oneAtATime = bestRun(runs, scenario, 'one-at-a-time')
  const raw = bestRun(runs, scenario, 'raw')
  return runs.map((run) => [
    run.system,
    run.kvp === null ? '—' : String(run.kvp.maxPartitions),
    run.kvp === null ? '1' : String(run.kvp.threads),
    formatRate(run.measurement?.msgPerSec),
    run.system === 'one-at-a-time' ? '1×' : formatRatio(ratio(run, oneAtATime)),
    run.system === 'raw' ? '100%' : formatPercent(ratio(run, raw)),
    run.measurement === null ? '—' : `${run.measurement.handled.toLocaleString('en-US')} / ${run.prefilled.toLocaleString('en-US')}`,
    run.measurement === null ? '—' : `${run.measurement.seconds.toFixed(2)} s`,
    noteOf(run),
  ])
}

function noteOf(run: RunResult): string {
  if (run.error !== null) return `error: ${run.error}`
  if (run.measurement?.timeBoxed) return `time box ${run.timeBoxMs / 1000} s`
  if (run.repeats && run.repeats.length > 1) return `median of ${run.repeats.length}: ${run.repeats.map((rate) => formatRate(rate)).join(', ')}`
  return ''
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|')
  const lines = [`| ${header.map(escape).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`]
  for (const row of rows) lines.push(`| ${row.map(escape).join(' | ')} |`)
  return lines.join('\n')
}

/** kvp `cpu` runs on SWEEP_LANES lanes by thread count, with speed-up over 1 thread. */
export function threadScaling(results: BenchResults): Array<{ threads: number; rate: number; speedup: number | null }> {
  const rates = new Map<number, number>()
  for (const run of results.runs) {
    if (run.scenario !== 'cpu' || run.system !== 'kvp' || run.kvp?.maxPartitions !== SWEEP_LANES || !run.measurement) continue
    rates.set(run.kvp.threads, run.measurement.msgPerSec)
  }
  const one = rates.get(1)
  return [...rates.entries()].sort((a, b) => a[0] - b[0]).map(([threads, rate]) => ({ threads, rate, speedup: one === undefined ? null : rate / one }))
}

/** What `npm run bench:memory` writes to bench/results/memory.json (the parts shown here). */
export interface MemorySummary {
  at: string
  settings: { maxPartitions: number; threads: number; handler: string; partitions: number }
  /** One entry per runtime `kvp run` was started under; the first one's verdict is the benchmark's. */
  runtimes: Array<{
    runtime: { name: string; title: string }
    runs: Array<{ backlog: number; drained: boolean; durationMs: number; rate: number; startRssMiB: number; peakRssMiB: number; hwmMiB: number }>
    ratio: number | null
    pass: boolean | null
  }>
  target: number
}

/** What the memory figures rest on, and what moves them. */
const MEMORY_NOTES = [
  'What keeps memory flat: in-flight limits (`backpressure`: 5,000 messages per partition, 64 MiB overall), a',
  'shallow librdkafka prefetch (5,000 messages / 4 MiB), lanes that hold packed record chunks rather than',
  'node-rdkafka message objects (a queued message costs its bytes plus a few dozen, not about a kilobyte), and chunk',
  'buffers reused from a pool instead of left to the GC. What remains under plain `node` is warm-up, not',
  'backlog: V8 grows the main thread\'s young generation from 1 to 16 MiB semi-spaces under sustained load, and',
  'glibc gives each thread its own malloc arena, so a run that lasts longer ends higher whatever its backlog.',
  'The image\'s two settings remove both. They cost no measurable throughput: `npm run bench -- --quick` run',
  'back to back each way on this machine gave io at 256 lanes 54.1k (plain) and 57.5k msg/s (image), noop at',
  '16 lanes 195k and 183k msg/s, inside the run-to-run spread (145k–216k for noop).',
]

export function renderReport(results: BenchResults, memory: MemorySummary | null = null): string {
  const { machine, settings } = results
  const chart = relative(`${packageRoot}/docs`, ioChartFile).replaceAll('\\', '/')
  const out: string[] = []
  out.push('# Benchmarks', '')
  out.push('<!-- Generated by bench/report.ts from bench/results/latest.json: edit those, not this file. -->', '')
  out.push(
    'How much faster kvp handles **one Kafka partition** than the ways Node.js usually consumes it, measured',
    'in one process run against the embedded Kafka cluster so that every ratio compares like with like.',
    '',
  )
  const took = Math.round((Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000)
  out.push(`Run: **${results.mode}** (\`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`), ${results.startedAt}, ${took} s.`, '')

  out.push('## Machine', '')
  out.push(markdownTable(['', ''], [
    ['CPU', `${machine.cpus} × ${machine.cpuModel}`],
    ['memory', `${machine.totalMemoryGiB} GiB`],
    ['OS', `${machine.platform} ${machine.release} (${machine.arch})`],
    ['Node.js', machine.node],
    ['librdkafka / node-rdkafka', `${machine.librdkafka} / ${machine.nodeRdkafka}`],
    ['KafkaJS', machine.kafkajs],
    ['kvp', machine.kvp],
    ['load average at start', String(machine.loadAverage)],
  ]), '')

  out.push('## How it is measured', '')
  out.push(
    `- Every run consumes a **fresh topic** with a **fresh consumer group**. The topic is prefilled into`,
    `  partition 0 only, with ${settings.keys.toLocaleString('en-US')} distinct keys and ${settings.valueBytes}-byte JSON values.`,
    `- The embedded cluster keeps at most 5 MiB / 100,000 messages per partition, so a prefill is at most`,
    `  ${settings.maxPrefill.toLocaleString('en-US')} messages (checked after producing: offsets 0..n, nothing dropped).`,
    `- **Throughput** = messages handled after the first one, divided by the time from the first handled`,
    `  message to the last. The group join (~3 s on the embedded cluster) and the first fetch are outside it.`,
    `  Slow systems stop after a **${settings.timeBoxMs / 1000} s time box** and count what they handled.`,
    `  kvp's handled count is read from \`engine.stats()\` every ${settings.kvpStatsEveryMs} ms.`,
    '- Systems, all doing the same work per message (bench/handlers/work.ts):',
    '  - **raw**: node-rdkafka `consume(1000)` in a loop, no handler: the ceiling for kvp, which consumes through node-rdkafka.',
    '  - **one-at-a-time**: node-rdkafka, each message awaited before the next: Kafka\'s default scaling (one partition, one in flight).',
    '  - **kafkajs**: KafkaJS `eachMessage`, its default of one message at a time per partition.',
    `  - **kvp**: the partition split into \`maxPartitions\` lanes (consistent distribution) on ${settings.threads} worker threads,`,
    `    \`concurrencyPerThread\` = max(8, lanes / threads) so every lane can have a slice in flight.`,
    `- Work: \`io\` awaits a 1 ms timer; \`cpu\` chains ${settings.cpuRounds} sha256 digests of the value`,
    `  (${settings.cpuMicrosPerMessage.toFixed(0)} µs per message on this machine, measured before the runs); \`noop\` does nothing.`,
    '',
  )

  out.push('## Throughput', '')
  for (const scenario of Scenarios) {
    if (!results.runs.some((run) => run.scenario === scenario)) continue
    out.push(`### ${SCENARIO_TITLES[scenario]}`, '')
    out.push(markdownTable(THROUGHPUT_HEADER, throughputRows(results, scenario)), '')
  }
  if (results.runs.some((run) => run.scenario === 'io')) out.push(`![io throughput against lanes](${chart})`, '')

  const sweep = threadScaling(results)
  if (sweep.length > 1) {
    out.push('## CPU scaling over threads', '')
    out.push(`kvp on the \`cpu\` work with ${SWEEP_LANES} lanes, by worker threads; speed-up against 1 thread of the same run, and`, 'efficiency = speed-up ÷ threads (the target is ≥ 0.75 up to 12 threads, on a machine with the cores for it).', '')
    out.push(markdownTable(['threads', 'msg/s', 'speed-up', 'efficiency'], sweep.map((row) => [
      String(row.threads), formatRate(row.rate), row.speedup === null ? '—' : `${row.speedup.toFixed(2)}×`, row.speedup === null ? '—' : (row.speedup / row.threads).toFixed(2),
    ])), '')
  }

  out.push('## Targets', '')
  out.push('Judged on kvp\'s best lane count against the baselines of the same run.', '')
  out.push(markdownTable(['scenario', 'target', 'measured', 'result'], results.targets.map((target) => [
    target.scenario,
    target.description,
    target.threshold < 1 ? formatPercent(target.ratio) : formatRatio(target.ratio),
    formatPass(target.pass),
  ])), '')

  out.push('## Latency', '')
  const latency = results.latency
  if (latency === null) {
    out.push('Not measured in this run (it needs the `io` scenario).', '')
  } else {
    out.push(
      `kvp with the \`io\` work, ${latency.kvp.maxPartitions} lanes on ${latency.kvp.threads} threads, while a producer in the same process`,
      `streams at ${formatRate(latency.targetRate)} msg/s (half of kvp's best \`io\` throughput above) for ${latency.durationMs / 1000} s`,
      `(linger.ms 1). Latency is the producer's message timestamp to the start of the handler; the first`,
      `${latency.warmupMs / 1000} s are left out. The consumer runs with \`fetch.wait.max.ms=10\`: the embedded cluster answers a`,
      'fetch that finds no new data only after that wait, even when data arrives meanwhile (a real broker answers as',
      'soon as it does), so with the default 100 ms this run would mostly measure that quirk.',
      '',
    )
    const p = latency.latencyMs
    out.push(markdownTable(['produced', 'msg/s produced', 'handled', 'samples', 'p50', 'p90', 'p99', 'max'], [[
      formatRate(latency.produced), formatRate(latency.producedRate), formatRate(latency.handled), formatRate(p?.samples),
      formatMs(p?.p50), formatMs(p?.p90), formatMs(p?.p99), formatMs(p?.max),
    ]]), '')
    if (latency.error !== null) out.push(`Error: ${latency.error}`, '')
  }

  out.push('## Micro-benchmarks', '')
  const micro = results.micro
  if (micro === null) {
    out.push('Not run yet: `npm run bench:micro`.', '')
  } else {
    out.push(`\`npm run bench:micro\`, ${micro.at}, ${micro.machine.cpus} × ${micro.machine.cpuModel}, Node ${micro.machine.node}.`, '')
    out.push(markdownTable(['hot path', 'ns / message', 'what'], micro.results.map((entry) => [
      entry.name, entry.nsPerMessage.toFixed(entry.nsPerMessage < 10 ? 1 : 0), entry.note,
    ])), '')
  }

  out.push('## Memory against backlog', '')
  if (memory === null) {
    out.push('Not run yet: `npm run bench:memory`.', '')
  } else {
    out.push(
      `\`npm run bench:memory\`, ${memory.at}: a \`kvp run\` process (defaults, ${memory.settings.maxPartitions} lanes, ${memory.settings.threads} threads, ${memory.settings.handler})`,
      `drains a backlog spread over ${memory.settings.partitions} partitions; its resident set is sampled every 100 ms and its peak read from VmHWM.`,
      '',
    )
    for (const [index, { runtime, runs, ratio, pass }] of memory.runtimes.entries()) {
      out.push(`${index === 0 ? 'Judged on' : 'Also'}: \`kvp run\` ${runtime.title}.`, '')
      out.push(markdownTable(['backlog', 'drained', 'time', 'msg/s', 'RSS at start', 'peak RSS'], runs.map((run) => [
        run.backlog.toLocaleString('en-US'), run.drained ? 'yes' : 'no', `${(run.durationMs / 1000).toFixed(1)} s`, run.rate.toLocaleString('en-US'),
        `${run.startRssMiB} MiB`, `${run.hwmMiB > 0 ? run.hwmMiB : run.peakRssMiB} MiB`,
      ])), '')
      out.push(`Peak ratio, largest / smallest backlog: **${ratio ?? '—'}** (target ≤ ${memory.target}: ${pass === null ? 'not measured' : pass ? 'met' : 'missed'}).`, '')
    }
    out.push(...MEMORY_NOTES, '')
  }

  out.push('## Running them', '')
  out.push(
    '```sh',
    'npm run bench                      # every scenario and system, ~4 minutes',
    'npm run bench -- --quick           # shorter runs, fewer lane counts',
    'npm run bench -- --scenario io     # one scenario (io also measures latency)',
    'npm run bench -- --scenario cpu --thread-sweep 1,2,4,8,12   # CPU scaling (on a machine with the cores)',
    'npm run bench:micro                # hot-path micro-benchmarks',
    'npm run bench:memory               # peak RSS against backlog size',
    'node dist/bench/report.js          # regenerate this page from bench/results/latest.json',
    '```',
    '',
    'Results land in `bench/results/<timestamp>.json` and `bench/results/latest.json`.',
    '',
    '## Reading the numbers',
    '',
    '- Everything shares one machine: the embedded cluster, librdkafka\'s threads, the consumer\'s main thread',
    '  and kvp\'s workers. `cpu` gains come from cores the main thread does not use: with as many cores as',
    '  worker threads, the workers share them with the main thread and the cluster, and 2× is out of reach.',
    '- Ratios within one run are the meaningful output; absolute numbers move with the machine and its load.',
    '- Fast runs (raw, noop) handle the whole prefill in well under a second, so they are the noisiest.',
    '',
  )
  return out.join('\n')
}

/** Writes docs/BENCHMARKS.md and the io chart for these results. */
export async function writeReport(results: BenchResults): Promise<void> {
  const svg = await renderIoChart(results)
  if (svg !== null) await writeFile(ioChartFile, svg)
  await writeFile(benchmarksDoc, renderReport(results, await readMemoryResults()))
}

async function readMemoryResults(): Promise<MemorySummary | null> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'memory.json'), 'utf8')) as MemorySummary
  } catch {
    return null
  }
}

export async function readLatestResults(): Promise<BenchResults> {
  return JSON.parse(await readFile(latestResultsFile, 'utf8')) as BenchResults
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await readLatestResults()
  await writeReport(results)
  console.log(`wrote ${relative(packageRoot, benchmarksDoc)} and ${relative(packageRoot, ioChartFile)}`)
}
