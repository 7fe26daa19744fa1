/**
 * `npm run bench:core`: the engine's own cost with Kafka taken away. The real dispatcher,
 * partition states, lanes, offset trackers and worker pool run the `noop` handler on
 * messages made in the process (node-rdkafka's shape, 2,000 keys, 80-byte values), fed in
 * polls of the engine's batch size while the in-flight limit allows, as the poller would.
 * It prints msg/s, slices, messages per slice and the main thread's busy time per message
 * at each lane count, beside a feed-only baseline (making the batches, no engine), so the
 * per-slice cost the throughput benchmark cannot isolate is visible in seconds.
 *
 * The table also goes to bench/results/core.md, which docs/benchmarks.md includes.
 *
 * usage: npm run bench:core -- [--messages N] [--partitions 1,8] [--lanes 16,64,256] [--threads 2] [--repeats 3]
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { SliceProgress } from '../src/codec/slice-progress.js'
import { resolveOptions } from '../src/config/resolve.js'
import type { Distribution } from '../src/config/options.js'
import { DEFAULT_DISTRIBUTION } from '../src/config/schema.js'
import { Dispatcher } from '../src/dispatch/dispatcher.js'
import { PartitionState } from '../src/dispatch/partition-state.js'
import { WorkerPool } from '../src/dispatch/pool.js'
import { createDistributor } from '../src/partitioning/distributor.js'
import { createKeyExtractor } from '../src/partitioning/partitioner.js'
import { markdownTable } from './lib/format.js'
import { handlerUrl } from './lib/handlers.js'
import { kvpSetup } from './systems/kvp.js'
import { machineInfo } from './lib/machine.js'
import { resultsDir } from './lib/paths.js'
import { KEYS, VALUE_BYTES } from './lib/topic-fill.js'
import { consoleTable } from './lib/console-table.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '400000' },
    partitions: { type: 'string', default: '1,8' },
    lanes: { type: 'string', default: '16,64,256' },
    threads: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
    distribution: { type: 'string', default: DEFAULT_DISTRIBUTION },
  },
})
const list = (text: string): number[] => text.split(',').map((part) => Number(part))
const MESSAGES = Number(values.messages)
const THREADS = Number(values.threads)
const REPEATS = Number(values.repeats)
const DISTRIBUTION = values.distribution as Distribution

const keys = Array.from({ length: KEYS }, (_, i) => Buffer.from(`key-${i}`))
const value = Buffer.from(JSON.stringify({ id: 0, pad: 'x'.repeat(VALUE_BYTES - 20) }))

/** One poll's messages, round robin over the partitions in runs (as librdkafka returns them). */
function makeBatch(partitions: number, next: number[], size: number, from: number): KafkaMessage[] {
  const batch: KafkaMessage[] = []
  const perPartition = Math.ceil(size / partitions)
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i++) {
      const offset = next[p] as number
      next[p] = offset + 1
      batch.push({ topic: 'core', partition: p, offset, key: keys[(from + batch.length) % KEYS] as Buffer, value, size: value.length, timestamp: 1 })
    }
  }
  return batch
}

interface CoreRun {
  lanes: number
  partitions: number
  msgPerSec: number
  slices: number
  /** Messages posted to the workers (each carrying the slices of the ready lanes a flush packed). */
  tasks: number
  mainUsPerMessage: number
  cpuUsPerMessage: number
}

async function runOnce(partitions: number, lanes: number): Promise<CoreRun> {
  const options = resolveOptions({
    brokers: 'mock',
    groupId: 'core',
    threads: THREADS,
    concurrencyPerThread: kvpSetup(lanes, THREADS, partitions).concurrencyPerThread,
    topics: [{ topic: 'core', handler: handlerUrl('noop'), virtualPartitions: { lanes, distribution: DISTRIBUTION } }],
  })
  const route = options.routes[0] as (typeof options.routes)[number]
  const progress = new SliceProgress(65_536)
  const pool = new WorkerPool({
    progress: progress.buffer,
    threads: THREADS,
    concurrencyPerThread: options.concurrencyPerThread,
    routes: [{ topic: 'core', handlerUrl: route.handlerUrl, payload: route.payload, manualOffsets: false }],
  })
  await pool.probe(0)
  const extract = createKeyExtractor(route.partitioner, 'partitioner')
  const states = Array.from({ length: partitions }, (_, p) => new PartitionState('core', p, route, 1, extract, createDistributor(route.distribution, route.lanes)))
  const limit = options.maxInFlightPerPartition * partitions
  let inFlight = 0
  let handled = 0
  let fed = 0
  let slices = 0
  let tasks = 0
  const send = pool.send.bind(pool)
  pool.send = (...args) => {
    tasks++
    send(...args)
  }
  const next = new Array<number>(partitions).fill(0)
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  let feeding = false
  const feed = (): void => {
    feeding = false
    while (fed < MESSAGES && inFlight < limit) {
      const batch = makeBatch(partitions, next, options.batchSize, fed)
      fed += batch.length
      inFlight += batch.length
      for (let p = 0, start = 0; p < partitions; p++) {
        let end = start
        while (end < batch.length && (batch[end] as KafkaMessage).partition === p) end++
        if (end > start) dispatcher.accept(states[p] as PartitionState, batch.slice(start, end))
        start = end
      }
      dispatcher.flush()
    }
  }
  const dispatcher = new Dispatcher(options, pool, progress, {
    watermarkMoved: () => {},
    fetched: () => {},
    acksApplied: () => {
      let total = 0
      for (const state of states) total += state.handled
      inFlight -= total - handled
      handled = total
      if (handled >= MESSAGES) finish()
      else if (!feeding && inFlight < limit) {
        feeding = true
        setImmediate(feed)
      }
    },
    deadLetter: () => Promise.resolve(),
  })
  pool.start({
    acks: (acks) => {
      slices += acks.length
      dispatcher.acks(acks)
    },
    sessionFailed: (session, error) => dispatcher.sessionFailed(session, error),
  })
  const elu = performance.eventLoopUtilization()
  const cpu = process.cpuUsage()
  const started = performance.now()
  feed()
  await finished
  const seconds = (performance.now() - started) / 1000
  const busy = performance.eventLoopUtilization(elu)
  const used = process.cpuUsage(cpu)
  await pool.close()
  return { lanes, partitions, msgPerSec: handled / seconds, slices, tasks, mainUsPerMessage: (busy.active * 1000) / handled, cpuUsPerMessage: (used.user + used.system) / handled }
}

/** The feed alone: making the same batches, with nothing consuming them. */
function feedOnly(partitions: number, batchSize: number): number {
  const next = new Array<number>(partitions).fill(0)
  const started = performance.now()
  let sink = 0
  for (let fed = 0; fed < MESSAGES; ) {
    const batch = makeBatch(partitions, next, batchSize, fed)
    fed += batch.length
    sink += batch.length
  }
  return ((performance.now() - started) * 1000) / sink
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const head = ['partitions', 'lanes', 'msg/s (median)', 'spread', 'msg / slice', 'slices / task', 'main µs / msg', 'main µs / slice', 'CPU µs / msg (all threads)']
const rows: string[][] = []
const startedAt = new Date().toISOString()
const machine = machineInfo()
for (const partitions of list(values.partitions)) {
  const feedUs = feedOnly(partitions, 4000)
  rows.push([String(partitions), 'feed only', '', '', '', '', feedUs.toFixed(3), '', feedUs.toFixed(3)])
  for (const lanes of list(values.lanes)) {
    const runs: CoreRun[] = []
    for (let r = 0; r < REPEATS; r++) runs.push(await runOnce(partitions, lanes))
    const rates = runs.map((run) => run.msgPerSec)
    const mid = runs.find((run) => run.msgPerSec === median(rates)) as CoreRun
    const perSlice = MESSAGES / mid.slices
    const rate = (n: number): string => Math.round(n).toLocaleString('en-US')
    rows.push([
      String(partitions),
      String(lanes),
      rate(mid.msgPerSec),
      `${rate(Math.min(...rates))}–${rate(Math.max(...rates))}`,
      perSlice.toFixed(1),
      (mid.slices / mid.tasks).toFixed(1),
      mid.mainUsPerMessage.toFixed(3),
      (mid.mainUsPerMessage * perSlice).toFixed(2),
      mid.cpuUsPerMessage.toFixed(3),
    ])
  }
}
const title = `kvp core (no Kafka): ${MESSAGES.toLocaleString('en-US')} messages per run, noop handler, ${THREADS} threads, ${DISTRIBUTION} distribution, median of ${REPEATS}`
const table = consoleTable({ head })
table.push(...rows)
console.log(title)
console.log(table.toString())

const section = [
  '## The engine alone (`npm run bench:core`)',
  '',
  `\`npm run bench:core\`, ${startedAt}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage} at start:`,
  `the real dispatcher, partition states, lanes, offset trackers and worker pool (${THREADS} threads, the \`noop\` handler, ${DISTRIBUTION} distribution)`,
  `handle ${MESSAGES.toLocaleString('en-US')} messages made in the process in node-rdkafka's shape (2,000 keys, 80-byte values), fed in polls of the`,
  "engine's batch size while its in-flight limit allows, as the poller would. With Kafka taken away, what is left is the engine's own",
  "cost: the main thread's busy time per message (event-loop utilization × time ÷ messages) and per slice, and the CPU time of",
  `every thread per message. Median of ${REPEATS} runs, the spread beside it; "feed only" is the cost of making the batches alone.`,
  '',
  markdownTable(head, rows),
  '',
]
await writeFile(join(resultsDir, 'core.md'), `${section.join('\n')}\n`)
console.log(`wrote ${join('bench', 'results', 'core.md')}`)
