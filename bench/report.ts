/**
 * docs/benchmarks.md and the `io` charts, regenerated from bench/results/latest.json (the
 * embedded cluster) and bench/results/latest-kafka.json (a real broker): one section each,
 * so a run on one kind of broker leaves the other's figures in place. The page's part
 * written by hand (the headline figures) is kept as it is (./lib/hand-written.ts).
 * `npm run bench` calls this at the end; `node dist/bench/report.js` reruns it alone.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { renderIoChart } from './chart.js'
import { Scenarios, type Scenario } from './handlers/work.js'
import { formatMs, formatPass, formatPercent, formatRate, formatRatio, markdownTable } from './lib/format.js'
import { keepHandWritten } from './lib/hand-written.js'
import { benchmarksDoc, ioChartFile, ioKafkaChartFile, latestKafkaResultsFile, latestResultsFile, packageRoot, resultsDir } from './lib/paths.js'
import { SWEEP_LANES } from './lib/plan.js'
import { peersSection } from './report-peers.js'
import { lanesSection, type LaneResults } from './report-lanes.js'
import { profileSection } from './report-profile.js'
import type { ProfileResults } from './lib/profile-results.js'
import { bestRun, normalizeResults, partitionCounts, rateOf, ratio, type BenchResults, type MicroResults, type RunResult } from './lib/results.js'

export { peerComparisonRows, peerLaneRows } from './report-peers.js'

export const SCENARIO_TITLES: Readonly<Record<Scenario, string>> = {
  io: 'io: a 1 ms await per message',
  cpu: 'cpu: a fixed ~200 µs of hashing per message',
  noop: 'noop: no work (transport only)',
}

export const THROUGHPUT_HEADER = ['system', 'lanes', 'threads', 'msg/s', '× one-at-a-time', '% of raw', '% of ceiling', 'handled', 'measured', 'note']

/**
 * `io`'s physical ceiling for a run: min(raw consume, concurrency ÷ handler time). The
 * concurrency is kvp's lanes on all partitions, a peer's maxConcurrency, or 1; the handler
 * time is what one message takes one at a time in the same run (1 ms plus the timer's
 * overshoot), so concurrency ÷ handler time = concurrency × one-at-a-time's rate. Null
 * outside `io` or without both baselines.
 */
export function ioCeiling(run: RunResult, raw: RunResult | undefined, oneAtATime: RunResult | undefined): number | null {
  const rawRate = rateOf(raw)
  const serialRate = rateOf(oneAtATime)
  if (run.scenario !== 'io' || rawRate === null || serialRate === null) return null
  if (run.system === 'raw') return rawRate
  const concurrency = run.kvp !== null ? run.kvp.maxPartitions * (run.partitions ?? 1) : (run.maxConcurrency ?? 1)
  return Math.min(rawRate, concurrency * serialRate)
}

/**
 * One row per run of a scenario (on `partitions`, if given), ratios against that
 * scenario's baselines in the same run on the same partition count.
 */
export function throughputRows(results: BenchResults, scenario: Scenario, partitions?: number): string[][] {
  const runs = results.runs.filter((run) => run.scenario === scenario && (partitions === undefined || (run.partitions ?? 1) === partitions))
  const oneAtATime = bestRun(runs, scenario, 'one-at-a-time')
  const raw = bestRun(runs, scenario, 'raw')
  return runs.map((run) => {
    const ceiling = ioCeiling(run, raw, oneAtATime)
    const rate = rateOf(run)
    return [
      run.system,
      run.kvp !== null ? String(run.kvp.maxPartitions) : run.maxConcurrency !== undefined ? `${run.maxConcurrency} (maxConcurrency)` : '—',
      run.kvp === null ? '1' : String(run.kvp.threads),
      formatRate(run.measurement?.msgPerSec),
      run.system === 'one-at-a-time' ? '1×' : formatRatio(ratio(run, oneAtATime)),
      run.system === 'raw' ? '100%' : formatPercent(ratio(run, raw)),
      ceiling === null || rate === null ? '—' : `${formatPercent(rate / ceiling)} of ${formatRate(ceiling)}`,
      run.measurement === null ? '—' : `${run.measurement.handled.toLocaleString('en-US')} / ${run.prefilled.toLocaleString('en-US')}`,
      run.measurement === null ? '—' : `${run.measurement.seconds.toFixed(2)} s`,
      noteOf(run),
    ]
  })
}

function noteOf(run: RunResult): string {
  if (run.error !== null) return `error: ${run.error}`
  const notes: string[] = []
  if (run.measurement?.timeBoxed) notes.push(`time box ${run.timeBoxMs / 1000} s`)
  if (run.repeats && run.repeats.length > 1) {
    const median = rateOf(run) ?? 0
    const spread = median === 0 ? 0 : (Math.max(...run.repeats) - Math.min(...run.repeats)) / median
    notes.push(`median of ${run.repeats.length}: ${run.repeats.map((rate) => formatRate(rate)).join(', ')} (spread ${Math.round(spread * 100)}%)`)
  }
  if (run.regrown && run.regrown.length > 0) notes.push(`topic grown after draining it at ${run.regrown.map((rate) => formatRate(rate)).join(', ')} msg/s`)
  return notes.join('; ')
}

export function threadScaling(results: BenchResults, partitions = 1): Array<{ threads: number; rate: number; speedup: number | null }> {
  const rates = new Map<number, number>()
  for (const run of results.runs) {
    if (run.scenario !== 'cpu' || run.system !== 'kvp' || run.kvp?.maxPartitions !== SWEEP_LANES || !run.measurement) continue
    if ((run.partitions ?? 1) !== partitions) continue
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
  'What keeps memory flat: in-flight limits (`backpressure`: 80 messages a lane, 5,120 per partition at 64 lanes, 64 MiB overall), a',
  'shallow librdkafka prefetch (5,000 messages / 4 MiB), lanes that hold runs of packed batches rather than',
  'node-rdkafka message objects (a queued message costs its bytes plus a few dozen, not about a kilobyte; once its',
  'partition has packed 8 newer batches, a batch whose live rows fall to an eighth is compacted, so a stuck lane pins',
  "at most its partition's 8 young batches and about 8× its own bytes), and batch",
  'buffers reused from a pool instead of left to the GC. What remains under plain `node` is warm-up, not',
  "backlog: V8 grows the main thread's young generation from 1 to 16 MiB semi-spaces under sustained load, and",
  'glibc gives each thread its own malloc arena, so a run that lasts longer ends higher whatever its backlog.',
  "The image's two settings remove both. They cost no measurable throughput: `npm run bench -- --quick` run",
  'back to back each way on this machine gave io at 256 lanes 54.1k (plain) and 57.5k msg/s (image), noop at',
  '16 lanes 195k and 183k msg/s, inside the run-to-run spread (145k–216k for noop).',
  'The distribution matters too. Under `consistent` the lanes the hash gives most keys fall behind and keep',
  'their batches alive the longest; `sticky` (the default) spreads the backlog, so batches finish together. The',
  'same benchmark with `-- --distribution consistent` gave ratios of 1.158 (image) and 1.141 (plain) on this',
  'machine the same day, against 1.084–1.089 and 1.104–1.115 in two runs with `sticky`. The figure moves',
  'between runs of the same code: four image runs on 2026-12-07 gave 1.154, 1.104, 1.125 and 1.131.',
]

export interface ReportInputs {
  /** bench/results/latest.json: the latest run on the embedded cluster. */
  mock: BenchResults | null
  /** bench/results/latest-kafka.json: the latest run on a real broker. */
  kafka: BenchResults | null
}

const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`

/** The name of a results file's broker, for headings and prose. */
export function brokerTitle(results: BenchResults): string {
  const broker = results.broker ?? { kind: 'mock', version: null }
  if (broker.kind === 'mock') return 'the embedded cluster'
  if (broker.kind === 'apache-kafka') return `Apache Kafka ${broker.version ?? ''}`.trim()
  return 'an external Kafka cluster'
}

export function renderReport(
  inputs: ReportInputs,
  memory: MemorySummary | null = null,
  profile: ProfileResults | null = null,
  produce: string | null = null,
  core: string | null = null,
  lanes: LaneResults | null = null,
  replays: string | null = null,
): string {
  const mock = inputs.mock === null ? null : normalizeResults(inputs.mock)
  const kafka = inputs.kafka === null ? null : normalizeResults(inputs.kafka)
  const out: string[] = []
  out.push('# Benchmarks', '')
  out.push('<!-- Generated by bench/report.ts from bench/results, except the part marked as written by hand: rerun the benchmarks, do not edit the rest. -->', '')
  out.push(
    'How much faster kvp handles a Kafka partition than the ways Node.js usually consumes it. Every ratio compares',
    'systems measured in the same process run against the same Kafka, so that it compares like with like, and',
    'each kind of broker has its own section:',
    '',
    "- [On the embedded cluster](#on-the-embedded-cluster) (`npm run bench`): librdkafka's mock cluster, in process;",
    '  one partition, a fresh topic of at most 40,000 messages per run.',
    '- [On a real broker](#on-a-real-broker) (`npm run bench -- --brokers kafka`): Apache Kafka started for the run',
    '  (or `--brokers host:port` for a running cluster); 1 and 8 partitions, millions of messages, every measured',
    '  span at least 5 s. With `--peers`, Confluent Parallel Consumer (a JVM started per run, key-ordered,',
    "  `maxConcurrency` = kvp's lane counts) runs the same scenarios on the same topics, side by side with the rest.",
    '',
  )

  out.push('## On the embedded cluster', '')
  if (mock === null) out.push('Not run yet: `npm run bench`.', '')
  else out.push(...brokerSection(mock, relative(`${packageRoot}/docs`, ioChartFile).replaceAll('\\', '/')))

  out.push('## On a real broker', '')
  if (kafka === null) out.push('Not run yet: `npm run bench -- --brokers kafka`.', '')
  else out.push(...brokerSection(kafka, relative(`${packageRoot}/docs`, ioKafkaChartFile).replaceAll('\\', '/')))

  out.push(...profileSection(profile))
  out.push(...lanesSection(lanes))
  if (core !== null) out.push(core.trimEnd(), '')
  if (replays !== null) out.push(replays.trimEnd(), '')
  if (produce !== null) out.push(produce.trimEnd(), '')

  out.push('## Micro-benchmarks', '')
  const micro: MicroResults | null = mock?.micro ?? kafka?.micro ?? null
  if (micro === null) {
    out.push('Not run yet: `npm run bench:micro`.', '')
  } else {
    out.push(`\`npm run bench:micro\`, ${micro.at}, ${micro.machine.cpus} × ${micro.machine.cpuModel}, Node ${micro.machine.node}.`, '')
    out.push(
      markdownTable(
        ['hot path', 'ns / message', 'what'],
        micro.results.map((entry) => [entry.name, entry.nsPerMessage.toFixed(entry.nsPerMessage < 10 ? 1 : 0), entry.note]),
      ),
      '',
    )
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
      out.push(
        markdownTable(
          ['backlog', 'drained', 'time', 'msg/s', 'RSS at start', 'peak RSS'],
          runs.map((run) => [
            run.backlog.toLocaleString('en-US'),
            run.drained ? 'yes' : 'no',
            `${(run.durationMs / 1000).toFixed(1)} s`,
            run.rate.toLocaleString('en-US'),
            `${run.startRssMiB} MiB`,
            `${run.hwmMiB > 0 ? run.hwmMiB : run.peakRssMiB} MiB`,
          ]),
        ),
        '',
      )
      out.push(`Peak ratio, largest / smallest backlog: **${ratio ?? '—'}** (target ≤ ${memory.target}: ${pass === null ? 'not measured' : pass ? 'met' : 'missed'}).`, '')
    }
    out.push(...MEMORY_NOTES, '')
  }

  out.push('## Running them', '')
  out.push(
    '```sh',
    'npm run bench                      # every scenario and system on the embedded cluster, ~4 minutes',
    'npm run bench -- --quick           # shorter runs, fewer lane counts',
    'npm run bench -- --scenario io     # one scenario (io also measures latency)',
    'npm run bench -- --scenario cpu --thread-sweep 1,2,4,8,12   # CPU scaling (on a machine with the cores)',
    'npm run bench -- --brokers kafka   # the same on Apache Kafka, started and stopped by the run, 1 and 8 partitions',
    'npm run bench -- --brokers kafka --quick            # a smoke run of that, under ~2 minutes',
    'npm run bench -- --brokers kafka --peers            # and Confluent Parallel Consumer beside kvp (needs java, javac, mvn)',
    'npm run bench -- --brokers host:9092 --partitions 1,4,16   # a running cluster (its topics are deleted after)',
    'npm run bench:micro                # hot-path micro-benchmarks',
    "npm run bench:core                 # the engine's own cost per message and per slice, Kafka taken away (~1 minute)",
    'npm run bench:memory               # peak RSS against backlog size',
    'node dist/bench/report.js          # regenerate this page from bench/results/latest*.json',
    '```',
    '',
    "`--brokers` is `mock` (the default: librdkafka's embedded cluster), `kafka` (Apache Kafka 4.1.1 from",
    'tools/apache-kafka, one KRaft node on 127.0.0.1; its jars are fetched once and cached) or',
    '`host:port[,host:port]`. Anything else exits 2; a cluster that does not answer its metadata within 10 s',
    'ends the run with an error naming its address. Results land in `bench/results/<timestamp>.json` and',
    '`bench/results/latest.json` (the embedded cluster) or `<timestamp>-kafka.json` and `latest-kafka.json`',
    '(a real broker).',
    '',
    '`--peers` (a real broker only: with the embedded cluster it exits 2, since the Java client connects to it but',
    'consumes nothing, not a record in 30 s) adds Confluent Parallel Consumer from bench/peers/parallel-consumer: its first run',
    "resolves the pom's classpath with Maven and compiles Main.java with javac into `~/.cache/kvp/`, and later",
    'runs start neither. Without `java`, `javac` or `mvn` it is shown as not run and the other systems run as',
    'usual. LINE Decaton was tried as a second peer and is not here: Maven Central, as this project reaches it,',
    'has no `com.linecorp.decaton:decaton-processor`.',
    '',
    '## Reading the numbers',
    '',
    "- Everything shares one machine: the broker (the embedded cluster, or Apache Kafka's JVM), librdkafka's",
    "  threads, the consumer's main thread and kvp's workers. `cpu` gains come from cores the main thread does",
    '  not use: with as many cores as worker threads, the workers share them with the main thread and the',
    '  broker, and 2× is out of reach.',
    '- Ratios within one run are the meaningful output; absolute numbers move with the machine and its load.',
    '- On the embedded cluster fast runs (raw, noop) handle the whole prefill in well under a second, so they are',
    '  the noisiest; on a real broker every measured span is at least 5 s.',
    '',
  )
  return out.join('\n')
}

/** One broker's runs: machine, method, throughput per partition count, targets, latency. */
function brokerSection(results: BenchResults, chart: string): string[] {
  const { machine, settings } = results
  const mock = results.broker.kind === 'mock'
  const out: string[] = []
  const took = Math.round((Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000)
  const flags = [mock ? '' : results.broker.kind === 'apache-kafka' ? '--brokers kafka' : '--brokers host:port', results.mode === 'quick' ? '--quick' : ''].filter((flag) => flag !== '').join(' ')
  out.push(`Run: **${results.mode}** (\`npm run bench${flags === '' ? '' : ` -- ${flags}`}\`) on ${brokerTitle(results)}, ${results.startedAt}, ${took} s.`, '')

  out.push('### Machine', '')
  out.push(
    markdownTable(
      ['', ''],
      [
        ['CPU', `${machine.cpus} × ${machine.cpuModel}`],
        ['memory', `${machine.totalMemoryGiB} GiB`],
        ['OS', `${machine.platform} ${machine.release} (${machine.arch})`],
        ['Node.js', machine.node],
        ['librdkafka / node-rdkafka', `${machine.librdkafka} / ${machine.nodeRdkafka}`],
        ['KafkaJS', machine.kafkajs],
        ['kvp', machine.kvp],
        [
          'broker',
          mock
            ? "librdkafka's embedded cluster (1 broker)"
            : results.broker.kind === 'apache-kafka'
              ? `Apache Kafka ${results.broker.version ?? '?'}, one KRaft node (broker and controller in one JVM) on this machine`
              : 'an external cluster',
        ],
        ['load average at start', String(machine.loadAverage)],
      ],
    ),
    '',
  )

  out.push('### How it is measured', '')
  if (mock) {
    out.push(
      `- Every run consumes a **fresh topic** with a **fresh consumer group**. The topic is prefilled into`,
      `  partition 0 only, with ${settings.keys.toLocaleString('en-US')} distinct keys and ${settings.valueBytes}-byte JSON values.`,
      `- The embedded cluster keeps at most 5 MiB / 100,000 messages per partition, so a prefill is at most`,
      `  ${settings.maxPrefill.toLocaleString('en-US')} messages (checked after producing: offsets 0..n, nothing dropped).`,
      '  Fast runs (raw, noop, io at 256 lanes) are then over in 0.15–0.4 s, and a good part of that is the ramp-up',
      "  (the first polls, each worker's first slices): the targets are set for runs of 5 s and more, so they are",
      '  judged on [a real broker](#on-a-real-broker); here they are shown against the same lines for comparison.',
      `- **Throughput** = messages handled after the first one, divided by the time from the first handled`,
      `  message to the last. The group join (~3 s on the embedded cluster) and the first fetch are outside it.`,
      `  Slow systems stop after a **${settings.timeBoxMs / 1000} s time box** and count what they handled.`,
      `  kvp's handled count is read from \`engine.stats()\` every ${settings.kvpStatsEveryMs} ms.`,
    )
  } else {
    const partitions = settings.partitionsSweep.join(' and ')
    out.push(
      `- One **shared topic per partition count** (${partitions}), created with the admin client (the broker the run`,
      "  starts has topic auto-creation off) and filled once, spread over its partitions by key (librdkafka's default",
      `  partitioner), with ${settings.keys.toLocaleString('en-US')} distinct keys and ${settings.valueBytes}-byte JSON values. Every run reads it **from the beginning**`,
      '  with a **fresh consumer group** (no committed offsets): the runs share the messages, never their progress,',
      "  and the topic is filled once instead of once per run (checked after each fill: the partitions' offsets add up).",
      `- First fill: ${plural(settings.maxPrefill, 'message')} per topic. A run that drains its topic in under`,
      `  **${settings.minMeasuredSeconds} s** grows it to that run's rate × the time box × ${'1.3'} and runs again, so no`,
      '  measured span is short; the table notes which runs did.',
      `- **Throughput** = messages handled after the first one, divided by the time from the first handled`,
      `  message to the last. The group join and the first fetch are outside it. Every run stops after a`,
      `  **${settings.timeBoxMs / 1000} s time box** (or when it has handled the whole topic) and counts what it handled.`,
      `  kvp's handled count is read from \`engine.stats()\` every ${settings.kvpStatsEveryMs} ms.`,
    )
    if (settings.repeats !== undefined && settings.repeats > 1) {
      out.push(
        `- Every cell runs **${settings.repeats} times**, interleaved: the whole plan once, then again in the same order, so a`,
        '  drift of the machine or the broker during the benchmark lands on every system alike, not on the cells that ran',
        "  during it. The tables show each cell's median try, and every try's rate in the order they ran, with the spread.",
      )
    }
    if (results.topics !== undefined && results.topics.length > 0) {
      out.push('- Topic fills (a batching producer: linger.ms 20, 10,000 messages a batch):', '')
      out.push(
        markdownTable(
          ['partitions', 'messages', 'took', 'msg/s', 'why'],
          results.topics.map((fill) => [
            String(fill.partitions),
            `${fill.from.toLocaleString('en-US')} → ${fill.to.toLocaleString('en-US')}`,
            `${fill.seconds.toFixed(1)} s`,
            formatRate((fill.to - fill.from) / fill.seconds),
            fill.why,
          ]),
        )
          .split('\n')
          .map((line) => `  ${line}`)
          .join('\n'),
        '',
      )
    }
  }
  out.push(
    `- Systems, all doing the same work per message (bench/handlers/work.ts)${mock ? ':' : '; on several partitions one consumer of each system is assigned all of them:'}`,
    '  - **raw**: node-rdkafka `consume(1000)` in a loop, no handler: the ceiling for kvp, which consumes through node-rdkafka.',
    "  - **one-at-a-time**: node-rdkafka, each message awaited before the next: Kafka's default scaling (one partition, one in flight).",
    `  - **kafkajs**: KafkaJS \`eachMessage\`, its default of one message at a time${mock ? ' per partition' : ' (`partitionsConsumedConcurrently` 1)'}.`,
    `  - **kvp**: ${mock ? 'the partition' : 'each partition'} split into \`virtualPartitions.lanes\` lanes (\`sticky\` distribution, the default) on ${settings.threads} worker threads,`,
    `    \`concurrencyPerThread\` = max(8, ${mock ? 'lanes' : 'lanes × partitions'} / threads) so every lane can have a slice in flight.`,
    `- Work: \`io\` awaits a 1 ms timer; \`cpu\` chains ${settings.cpuRounds} sha256 digests of the value`,
    `  (${settings.cpuMicrosPerMessage.toFixed(0)} µs per message on this machine, measured before the runs); \`noop\` does nothing.`,
    '- **% of ceiling** (`io`): of the physical ceiling min(raw consume, concurrency ÷ handler time), the concurrency being',
    `  kvp's lanes${mock ? '' : ' × partitions'}, a peer's \`maxConcurrency\` or 1, and the handler time what one message takes one at a time in the`,
    "  same run (1 ms plus the timer's overshoot): a system cannot pass it, however it is built.",
    '',
  )

  out.push('### Throughput', '')
  const counts = partitionCounts(results.runs)
  for (const partitions of counts) {
    for (const scenario of Scenarios) {
      if (!results.runs.some((run) => run.scenario === scenario && run.partitions === partitions)) continue
      out.push(`#### ${SCENARIO_TITLES[scenario]}${mock ? '' : `, ${plural(partitions, 'partition')}`}`, '')
      out.push(markdownTable(THROUGHPUT_HEADER, throughputRows(results, scenario, partitions)), '')
    }
  }
  if (results.runs.some((run) => run.scenario === 'io')) out.push(`![io throughput against lanes](${chart})`, '')
  out.push(...peersSection(results))

  for (const partitions of counts) {
    const sweep = threadScaling(results, partitions)
    if (sweep.length <= 1) continue
    out.push(`### CPU scaling over threads${mock ? '' : `, ${plural(partitions, 'partition')}`}`, '')
    out.push(
      `kvp on the \`cpu\` work with ${SWEEP_LANES} lanes, by worker threads; speed-up against 1 thread of the same run, and`,
      'efficiency = speed-up ÷ threads (the target is ≥ 0.75 up to 12 threads, on a machine with the cores for it).',
      '',
    )
    out.push(
      markdownTable(
        ['threads', 'msg/s', 'speed-up', 'efficiency'],
        sweep.map((row) => [String(row.threads), formatRate(row.rate), row.speedup === null ? '—' : `${row.speedup.toFixed(2)}×`, row.speedup === null ? '—' : (row.speedup / row.threads).toFixed(2)]),
      ),
      '',
    )
  }

  out.push('### Targets', '')
  out.push(
    `Judged on kvp at the lane count a target names (else its best one) against the baselines of the same run${mock ? '' : ' on the same partition count'}.${
      mock ? ' Runs here are sub-second (see above): the targets hold or not on a real broker.' : ''
    }`,
    '',
  )
  out.push(
    markdownTable(
      mock ? ['scenario', 'target', 'measured', 'result'] : ['scenario', 'partitions', 'target', 'measured', 'result'],
      results.targets.map((target) => [
        target.scenario,
        ...(mock ? [] : [String(target.partitions)]),
        target.description,
        target.threshold < 1 ? formatPercent(target.ratio) : formatRatio(target.ratio),
        formatPass(target.pass),
      ]),
    ),
    '',
  )

  out.push('### Latency', '')
  const latency = results.latency
  if (latency === null) {
    out.push('Not measured in this run (it needs the `io` scenario).', '')
  } else {
    out.push(
      `kvp with the \`io\` work, ${latency.kvp.maxPartitions} lanes on ${latency.kvp.threads} threads${mock ? '' : `, a fresh ${latency.partitions ?? 1}-partition topic`}, while a producer in the same process`,
      `streams at ${formatRate(latency.targetRate)} msg/s (half of kvp's best \`io\` throughput above${mock ? '' : ` on ${plural(counts[0] ?? 1, 'partition')}`}) for ${latency.durationMs / 1000} s`,
      `(linger.ms 1). Latency is the producer's message timestamp to the start of the handler; the first`,
    )
    if (mock) {
      out.push(
        `${latency.warmupMs / 1000} s are left out. The consumer runs with \`fetch.wait.max.ms=10\`: the embedded cluster answers a`,
        'fetch that finds no new data only after that wait, even when data arrives meanwhile (a real broker answers as',
        'soon as it does), so with the default 100 ms this run would mostly measure that quirk.',
        '',
      )
    } else {
      out.push(`${latency.warmupMs / 1000} s are left out. The consumer runs with kvp's defaults (a real broker answers a waiting fetch as soon as data arrives).`, '')
    }
    const p = latency.latencyMs
    out.push(
      markdownTable(
        ['produced', 'msg/s produced', 'handled', 'samples', 'p50', 'p90', 'p99', 'max'],
        [[formatRate(latency.produced), formatRate(latency.producedRate), formatRate(latency.handled), formatRate(p?.samples), formatMs(p?.p50), formatMs(p?.p90), formatMs(p?.p99), formatMs(p?.max)]],
      ),
      '',
    )
    if (latency.error !== null) out.push(`Error: ${latency.error}`, '')
  }
  return out
}

/** Writes docs/benchmarks.md (keeping its part written by hand) and the io charts from the latest results of each kind of broker. */
export async function writeReport(): Promise<void> {
  const inputs: ReportInputs = { mock: await readResults(latestResultsFile), kafka: await readResults(latestKafkaResultsFile) }
  for (const [results, file] of [
    [inputs.mock, ioChartFile],
    [inputs.kafka, ioKafkaChartFile],
  ] as const) {
    if (results === null) continue
    const svg = await renderIoChart(normalizeResults(results))
    if (svg !== null) await writeFile(file, svg)
  }
  const generated = renderReport(
    inputs,
    await readMemoryResults(),
    await readProfileResults(),
    await readSection('produce.md'),
    await readSection('core.md'),
    await readLaneResults(),
    await readSection('replays.md'),
  )
  const previous = await readFile(benchmarksDoc, 'utf8').catch(() => null)
  await writeFile(benchmarksDoc, keepHandWritten(previous, generated))
}

/** A section as the benchmark that writes it left it in bench/results (`produce.md`: bench:produce, `core.md`: bench:core, `replays.md`: bench:replays). */
async function readSection(file: string): Promise<string | null> {
  try {
    return await readFile(join(resultsDir, file), 'utf8')
  } catch {
    return null
  }
}

async function readLaneResults(): Promise<LaneResults | null> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'lanes.json'), 'utf8')) as LaneResults
  } catch {
    return null
  }
}

async function readProfileResults(): Promise<ProfileResults | null> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'profile.json'), 'utf8')) as ProfileResults
  } catch {
    return null
  }
}

async function readMemoryResults(): Promise<MemorySummary | null> {
  try {
    return JSON.parse(await readFile(join(resultsDir, 'memory.json'), 'utf8')) as MemorySummary
  } catch {
    return null
  }
}

async function readResults(file: string): Promise<BenchResults | null> {
  try {
    return normalizeResults(JSON.parse(await readFile(file, 'utf8')) as BenchResults)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await writeReport()
  console.log(`wrote ${relative(packageRoot, benchmarksDoc)} and the io charts in ${relative(packageRoot, resultsDir)}`)
}
