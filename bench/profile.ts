/**
 * `npm run bench:profile`: where kvp's time goes, per message and per slice.
 *
 * Runs kvp (noop handler by default) over the same backlog at several lane counts, each in
 * a child process under `node --cpu-prof` (every thread writes its own profile), cuts each
 * profile to the window between the first fetched and the last handled message, and sums
 * self time by what the code does (bench/lib/cpu-profile.ts). More lanes make more, smaller
 * slices of the same messages, so fitting `time = a × messages + b × slices` over the lane
 * counts separates the cost of a message from the cost of a slice. Writes
 * bench/results/profile.json and regenerates docs/benchmarks.md.
 *
 * usage: npm run bench:profile -- [--scenario noop|io|cpu] [--lanes 16,64,256] [--repeats 2] [--no-raw]
 * (the raw node-rdkafka loop is profiled too, as the baseline of what fetching costs)
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import Table from 'cli-table3'
import { startMockCluster } from '../src/kafka/mock-cluster.js'
import { produceMessages } from '../src/kafka/produce.js'
import { addThreadTimes, busyTotal, Categories, perMessageAndSlice, threadTime } from './lib/cpu-profile.js'
import { machineInfo } from './lib/machine.js'
import { packageRoot, resultsDir } from './lib/paths.js'
import { freshNames, KEYS, MAX_PREFILL, VALUE_BYTES } from './lib/topic-fill.js'
import type { CostRow, ProfileResults, ProfileRun } from './lib/profile-results.js'
import type { ProfiledWindow } from './profile-target.js'
import { writeReport } from './report.js'

const run = promisify(execFile)
const PARTITIONS = 4
const SAMPLE_INTERVAL_US = 100

const { values } = parseArgs({
  allowNegative: true,
  options: {
    scenario: { type: 'string', default: 'noop' },
    lanes: { type: 'string', default: '16,64,256' },
    raw: { type: 'boolean', default: true },
    repeats: { type: 'string', default: '2' },
  },
})
const scenario = values.scenario
const lanesList = values.lanes.split(',').map(Number)
const repeats = Number(values.repeats)
if (!['noop', 'io', 'cpu'].includes(scenario) || lanesList.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(repeats) || repeats < 1) {
  console.error('usage: npm run bench:profile -- [--scenario noop|io|cpu] [--lanes 16,64,256] [--repeats 2]')
  process.exit(2)
}

const startedAt = new Date()
const messages = PARTITIONS * MAX_PREFILL
const cluster = await startMockCluster()
const runs: ProfileRun[] = []
try {
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const lanes of values.raw ? [0, ...lanesList] : lanesList) {
      const profiled = await profileOnce(cluster.bootstrapServers, lanes)
      runs.push(profiled)
      const seconds = (profiled.toUs - profiled.fromUs) / 1e6
      console.error(
        `${lanes === 0 ? 'raw loop' : `${scenario} ${lanes} lanes`}: ${profiled.messages.toLocaleString('en-US')} messages, ${profiled.slices.toLocaleString('en-US')} slices ` +
          `in ${seconds.toFixed(2)} s; main thread busy ${percent(busyTotal(profiled.main), profiled.main.idleUs)}, workers ${percent(busyTotal(profiled.workers), profiled.workers.idleUs)}`,
      )
    }
  }
} finally {
  await cluster.stop()
}

const kvpRuns = runs.filter((r) => r.lanes > 0)
const rawRuns = runs.filter((r) => r.lanes === 0)
const rawMessages = rawRuns.reduce((sum, r) => sum + r.messages, 0)
const costs: CostRow[] = Categories.map((category) => ({
  category,
  raw: rawMessages === 0 ? 0 : (1000 * rawRuns.reduce((sum, r) => sum + (r.main.busyUs[category] ?? 0), 0)) / rawMessages,
  main: perMessageAndSlice(kvpRuns.map((r) => ({ us: r.main.busyUs[category] ?? 0, messages: r.messages, slices: r.slices }))),
  workers: perMessageAndSlice(kvpRuns.map((r) => ({ us: r.workers.busyUs[category] ?? 0, messages: r.messages, slices: r.slices }))),
})).filter((row) => row.raw + row.main.nsPerMessage + row.main.nsPerSlice + row.workers.nsPerMessage + row.workers.nsPerSlice > 0)

const results: ProfileResults = {
  version: 1,
  startedAt: startedAt.toISOString(),
  machine: machineInfo(),
  scenario,
  partitions: PARTITIONS,
  messagesPerRun: messages,
  sampleIntervalUs: SAMPLE_INTERVAL_US,
  runs,
  costs,
}
const table = new Table({ head: ['', 'raw loop ns/msg', 'main ns/msg', 'main ns/slice', 'worker ns/msg', 'worker ns/slice'], style: { head: [], border: [] } })
for (const row of costs) table.push([row.category, ns(row.raw), ns(row.main.nsPerMessage), ns(row.main.nsPerSlice), ns(row.workers.nsPerMessage), ns(row.workers.nsPerSlice)])
console.log(table.toString())
await writeFile(join(resultsDir, 'profile.json'), `${JSON.stringify(results, null, 2)}\n`)
await writeReport()
console.log('wrote bench/results/profile.json, docs/benchmarks.md')

async function profileOnce(bootstrapServers: string, lanes: number): Promise<ProfileRun> {
  const { topic } = freshNames(`profile-${lanes}`)
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await produceMessages({ bootstrapServers, topic, count: MAX_PREFILL, keys: KEYS, size: VALUE_BYTES, partition, json: true })
  }
  const dir = await mkdtemp(join(tmpdir(), 'kvp-profile-'))
  try {
    const target = join(packageRoot, 'dist', 'bench', 'profile-target.js')
    const args = ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${SAMPLE_INTERVAL_US}`, target, bootstrapServers, topic, String(messages), String(lanes), scenario]
    const { stdout } = await run(process.execPath, args, { cwd: packageRoot, timeout: 120_000 })
    const window = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ProfiledWindow
    const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))
    // CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile: thread 0 is the main thread.
    const threadOf = (name: string) => Number(name.split('.')[4])
    const mainFile = files.find((name) => threadOf(name) === 0)
    if (mainFile === undefined) throw new Error(`no main-thread profile among ${files.join(', ')}`)
    const main = await threadTime(join(dir, mainFile), window.fromUs, window.toUs)
    const workerTimes = await Promise.all(files.filter((name) => threadOf(name) !== 0).map((name) => threadTime(join(dir, name), window.fromUs, window.toUs)))
    return { ...window, lanes, main, workers: addThreadTimes(workerTimes) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function percent(busy: number, idle: number): string {
  return `${Math.round((100 * busy) / Math.max(1, busy + idle))}%`
}

function ns(value: number): string {
  return value < 1 ? '–' : Math.round(value).toLocaleString('en-US')
}
