/**
 * `node dist/bench/memory.js` (npm run bench:memory): memory is bounded by the configured
 * in-flight limits, not by the backlog (docs/guarantees.md, "Bounded memory"). A `kvp run` child process drains a
 * prefilled backlog (spread over the 4 partitions of a fresh topic) with a slow handler
 * (bench/handlers/slow.ts: --delay-ms per message, 20 by default), once per backlog size, each until the group has committed the
 * end of every partition or the time box runs out. The child's resident set is sampled
 * from /proc/<pid>/status every 100 ms (VmRSS), and its kernel-kept peak (VmHWM) is read
 * before it is stopped. Peaks of the largest and smallest backlog should be within 15%.
 * Every size runs under each runtime (bench/lib/runtime.ts): as the Docker image starts
 * kvp, which is what the target is judged on, and with plain node.
 *
 * Flags: --sizes 10000,100000  --time-box-ms 40000  --lanes 64  --threads 2  --delay-ms 20
 *        --runtimes image,plain
 * Arguments after `--` are passed on to `kvp run` (e.g. `-- -X queued.min.messages=1000`).
 * Writes bench/results/memory.json and prints a table.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import Kafka from 'node-rdkafka'
import { startMockCluster } from '../src/kafka/mock-cluster.js'
import { produceMessages } from '../src/kafka/produce.js'
import { machineInfo } from './lib/machine.js'
import type { MachineInfo } from './lib/machine.js'
import { packageRoot, resultsDir } from './lib/paths.js'
import { RUNTIMES } from './lib/runtime.js'
import type { Runtime } from './lib/runtime.js'
import { consoleTable } from './lib/console-table.js'

const PARTITIONS = 4
const SAMPLE_MS = 100
const TARGET_RATIO = 1.15
const KEYS = 1000
const VALUE_BYTES = 100

interface MemoryRun {
  runtime: Runtime['name']
  backlog: number
  /** Whether every partition's committed offset reached its end within the time box. */
  drained: boolean
  /** From the child's readiness to the drain (or the time box). */
  durationMs: number
  /** Messages per second over `durationMs`, from the committed offsets. */
  rate: number
  committed: number
  samples: number
  /** VmRSS when the child reported ready (before its first assignment). */
  startRssMiB: number
  /** Highest VmRSS sample. */
  peakRssMiB: number
  /** The kernel's high-water mark of the resident set (VmHWM), read before stopping. */
  hwmMiB: number
  exitCode: number | string
  error: string | null
}

/** One runtime's runs and their verdict. */
interface RuntimeResult {
  runtime: Runtime
  runs: MemoryRun[]
  /** Peak RSS of the largest backlog over that of the smallest (VmHWM when available). */
  ratio: number | null
  pass: boolean | null
}

interface MemoryResults {
  at: string
  machine: MachineInfo
  settings: { sizes: number[]; timeBoxMs: number; maxPartitions: number; threads: number; delayMs: number; runArgs: string[]; partitions: number; valueBytes: number; keys: number; handler: string }
  /** The first runtime's verdict is the benchmark's. */
  runtimes: RuntimeResult[]
  target: number
}

interface Settings {
  sizes: number[]
  timeBoxMs: number
  maxPartitions: number
  threads: number
  /** The slow handler's await per message. */
  delayMs: number
  /** Extra `kvp run` arguments. */
  runArgs: string[]
  runtimes: Runtime[]
}

function parse(argv: string[]): Settings {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sizes: { type: 'string', default: '10000,100000' },
      'time-box-ms': { type: 'string', default: '40000' },
      lanes: { type: 'string', default: '64' },
      threads: { type: 'string', default: '2' },
      'delay-ms': { type: 'string', default: '20' },
      runtimes: { type: 'string', default: RUNTIMES.map((runtime) => runtime.name).join(',') },
    },
  })
  const positive = (name: string, text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 1) {
      console.error(`--${name}: expected a positive integer, got ${text}`)
      process.exit(2)
    }
    return n
  }
  const sizes = values.sizes.split(',').map((size) => positive('sizes', size))
  for (const size of sizes) {
    if (size / PARTITIONS > 100_000) {
      console.error(`--sizes: ${size} is more than the embedded cluster keeps (100,000 messages per partition, ${PARTITIONS} partitions)`)
      process.exit(2)
    }
  }
  return {
    sizes,
    timeBoxMs: positive('time-box-ms', values['time-box-ms']),
    maxPartitions: positive('lanes', values.lanes),
    threads: positive('threads', values.threads),
    delayMs: positive('delay-ms', values['delay-ms']),
    runArgs: positionals,
    runtimes: values.runtimes.split(',').map((name) => {
      const runtime = RUNTIMES.find((candidate) => candidate.name === name)
      if (!runtime) {
        console.error(`--runtimes: expected names from ${RUNTIMES.map((r) => r.name).join(', ')}, got ${name}`)
        process.exit(2)
      }
      return runtime
    }),
  }
}

/** A /proc/<pid>/status field in KiB (VmRSS, VmHWM), or undefined once the process is gone. */
function statusKiB(pid: number, field: string): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10

/** Reads a group's committed offsets without joining it. */
async function offsetReader(bootstrapServers: string, groupId: string, topic: string): Promise<{ read(): Promise<number[]>; close(): Promise<void> }> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3 }, {})
  consumer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  const toppars = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
  return {
    read: () =>
      new Promise<number[]>((resolve, reject) => {
        consumer.committed(toppars, 10_000, (err, offsets) => {
          if (err) reject(err)
          else resolve(toppars.map(({ partition }) => Math.max(0, offsets.find((o) => o.partition === partition)?.offset ?? 0)))
        })
      }),
    close: () => new Promise<void>((resolve) => consumer.disconnect(() => resolve())),
  }
}

async function drainOnce(bootstrapServers: string, backlog: number, settings: Settings, runtime: Runtime): Promise<MemoryRun> {
  const suffix = `${backlog}-${Date.now().toString(36)}`
  const topic = `bench-memory-${suffix}`
  const groupId = `bench-memory-group-${suffix}`
  const perPartition = backlog / PARTITIONS
  for (let partition = 0; partition < PARTITIONS; partition++) {
    await produceMessages({ bootstrapServers, topic, count: Math.floor(perPartition), keys: KEYS, size: VALUE_BYTES, partition })
  }
  const total = Math.floor(perPartition) * PARTITIONS

  const args = [
    ...runtime.nodeArgs,
    join(packageRoot, 'bin', 'kvp.js'),
    'run',
    '--brokers',
    bootstrapServers,
    '--group',
    groupId,
    '--topic',
    topic,
    '--handler',
    join(packageRoot, 'dist', 'bench', 'handlers', 'slow.js'),
    '--lanes',
    String(settings.maxPartitions),
    '--threads',
    String(settings.threads),
    '-X',
    'session.timeout.ms=6000',
    '-X',
    'auto.commit.interval.ms=500',
    '--stats-interval-ms',
    '0',
    ...settings.runArgs,
  ]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...runtime.env, KVP_BENCH_DELAY_MS: String(settings.delayMs) } })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const pid = child.pid as number

  const run: MemoryRun = {
    runtime: runtime.name,
    backlog: total,
    drained: false,
    durationMs: 0,
    rate: 0,
    committed: 0,
    samples: 0,
    startRssMiB: 0,
    peakRssMiB: 0,
    hwmMiB: 0,
    exitCode: -1,
    error: null,
  }
  const reader = await offsetReader(bootstrapServers, groupId, topic)
  let peakKiB = 0
  const sampler = setInterval(() => {
    const rss = statusKiB(pid, 'VmRSS')
    if (rss === undefined) return
    run.samples++
    if (rss > peakKiB) peakKiB = rss
  }, SAMPLE_MS)
  try {
    const readyBy = Date.now() + 20_000
    while (!output.includes('KVP_READY')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`kvp exited before it was ready:\n${output}`)
      if (Date.now() > readyBy) throw new Error(`kvp was not ready within 20 s:\n${output}`)
      await sleep(20)
    }
    run.startRssMiB = mib(statusKiB(pid, 'VmRSS') ?? 0)
    const started = Date.now()
    const deadline = started + settings.timeBoxMs
    for (;;) {
      const committed = (await reader.read()).reduce((a, b) => a + b, 0)
      run.committed = committed
      run.durationMs = Date.now() - started
      if (committed >= total) {
        run.drained = true
        break
      }
      if (Date.now() >= deadline) break
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`kvp exited while draining:\n${output.slice(-2000)}`)
      await sleep(250)
    }
    run.rate = Math.round((run.committed * 1000) / Math.max(1, run.durationMs))
    run.hwmMiB = mib(statusKiB(pid, 'VmHWM') ?? 0)
  } catch (error) {
    run.error = (error as Error).message
  } finally {
    clearInterval(sampler)
    run.peakRssMiB = mib(peakKiB)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    run.exitCode = await exited
    clearTimeout(killer)
    await reader.close()
  }
  return run
}

function verdict(runtime: Runtime, runs: MemoryRun[]): RuntimeResult {
  const peakOf = (run: MemoryRun): number => (run.hwmMiB > 0 ? run.hwmMiB : run.peakRssMiB)
  const measured = runs.filter((run) => run.error === null && peakOf(run) > 0)
  const smallest = measured.reduce<MemoryRun | undefined>((a, b) => (a === undefined || b.backlog < a.backlog ? b : a), undefined)
  const largest = measured.reduce<MemoryRun | undefined>((a, b) => (a === undefined || b.backlog > a.backlog ? b : a), undefined)
  const ratio = smallest && largest && smallest !== largest ? Math.round((peakOf(largest) / peakOf(smallest)) * 1000) / 1000 : null
  return { runtime, runs, ratio, pass: ratio === null ? null : ratio <= TARGET_RATIO }
}

async function main(): Promise<void> {
  const settings = parse(process.argv.slice(2))
  const machine = machineInfo()
  const cluster = await startMockCluster()
  const runtimes: RuntimeResult[] = []
  try {
    for (const runtime of settings.runtimes) {
      const runs: MemoryRun[] = []
      for (const size of settings.sizes) {
        process.stderr.write(`memory (${runtime.name}): draining a backlog of ${size.toLocaleString('en-US')} messages...\n`)
        runs.push(await drainOnce(cluster.bootstrapServers, size, settings, runtime))
      }
      runtimes.push(verdict(runtime, runs))
    }
  } finally {
    await cluster.stop()
  }

  const results: MemoryResults = {
    at: new Date().toISOString(),
    machine,
    settings: { ...settings, partitions: PARTITIONS, valueBytes: VALUE_BYTES, keys: KEYS, handler: `bench/handlers/slow.ts (${settings.delayMs} ms await)` },
    runtimes,
    target: TARGET_RATIO,
  }
  await mkdir(resultsDir, { recursive: true })
  const file = join(resultsDir, 'memory.json')
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)

  for (const { runtime, runs, ratio, pass } of runtimes) {
    console.log(`kvp run ${runtime.title}:`)
    const table = consoleTable({ head: ['backlog', 'drained', 'time', 'msg/s', 'RSS at start', 'peak RSS (sampled)', 'peak RSS (VmHWM)', 'exit'] })
    for (const run of runs) {
      table.push([
        run.backlog.toLocaleString('en-US'),
        run.error ? `error: ${run.error.split('\n')[0]}` : run.drained ? 'yes' : `no (${run.committed.toLocaleString('en-US')} committed)`,
        `${(run.durationMs / 1000).toFixed(1)} s`,
        run.rate.toLocaleString('en-US'),
        `${run.startRssMiB} MiB`,
        `${run.peakRssMiB} MiB`,
        `${run.hwmMiB} MiB`,
        String(run.exitCode),
      ])
    }
    console.log(table.toString())
    const outcome = pass === null ? 'not measured' : pass ? 'pass' : 'FAIL'
    console.log(`peak RSS ratio, largest / smallest backlog: ${ratio ?? '—'} (target <= ${TARGET_RATIO}: ${outcome})\n`)
  }
  console.log(`written to ${file}`)
  // Regenerate docs/benchmarks.md with these figures (when a throughput run exists).
  try {
    const { writeReport } = await import('./report.js')
    await writeReport()
    console.log('docs/benchmarks.md regenerated')
  } catch {
    console.log('docs/benchmarks.md not regenerated: run npm run bench first')
  }
}

await main()
