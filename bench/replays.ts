/**
 * `npm run bench:replays`: how many messages a crash or a handoff makes run twice, with
 * offset maps (kvp's default: each commit carries the offsets done above it) and without
 * them (`--offset-map-max-bytes 0`, what kvp did before), in the same run on Apache Kafka:
 *
 *   (a) SIGKILL with a slow key: one partition, 200 keys, key-0's first messages take 1.5 s,
 *       the others 5 ms; killed once half the messages are done, then restarted;
 *   (b) SIGKILL under steady io traffic: 4 partitions, 5 ms per message;
 *   (c) a second member joins mid-stream, with a slow key (cooperative-sticky);
 *   (d) SIGTERM with a slow key, then a restart.
 *
 * "Done before" counts messages handled before the kill, the join or the stop; "again" those
 * of them handled again after it; "done in the last 1 s" those done in the second before the
 * event (librdkafka commits stored offsets every second). The table goes to
 * bench/results/replays.md.
 *
 * usage: npm run bench:replays [-- --brokers kafka|mock|host:port]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import Kafka from 'node-rdkafka'
import { produceMessages } from '../src/kafka/produce.js'
import { openBroker } from './lib/broker.js'
import { parseBrokers } from './lib/cli-args.js'
import { consoleTable } from './lib/console-table.js'
import { markdownTable } from './lib/format.js'
import { handlerUrl } from './lib/handlers.js'
import { packageRoot, resultsDir } from './lib/paths.js'

interface Scenario {
  name: string
  partitions: number
  count: number
  /** Messages of key-0 below this offset (per partition) take 1.5 s. */
  slowBelow: number
  /** What happens once `at` messages are done. */
  event: 'SIGKILL' | 'SIGTERM' | 'join'
  at: number
}

const SCENARIOS: Scenario[] = [
  { name: '(a) SIGKILL, slow key', partitions: 1, count: 20_000, slowBelow: 2_000, event: 'SIGKILL', at: 10_000 },
  { name: '(b) SIGKILL, steady io', partitions: 4, count: 40_000, slowBelow: 0, event: 'SIGKILL', at: 15_000 },
  { name: '(c) a member joins, slow key', partitions: 4, count: 40_000, slowBelow: 2_000, event: 'join', at: 15_000 },
  { name: '(d) SIGTERM, slow key', partitions: 1, count: 20_000, slowBelow: 2_000, event: 'SIGTERM', at: 10_000 },
]

interface Outcome {
  scenario: string
  maps: boolean
  doneBefore: number
  again: number
  /** Messages done in the last commit interval (1 s) before the event. */
  lastInterval: number
}

const { values } = parseArgs({ options: { brokers: { type: 'string', default: 'kafka' } } })
const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
const broker = await openBroker(parseBrokers(values.brokers ?? 'kafka'), log)
const work = mkdtempSync(join(tmpdir(), 'kvp-replays-'))
const outcomes: Outcome[] = []
try {
  for (const scenario of SCENARIOS) {
    for (const maps of [false, true]) {
      const outcome = await run(scenario, maps)
      log(`${scenario.name}, maps ${maps ? 'on' : 'off'}: ${outcome.again} of ${outcome.doneBefore} done before ran again`)
      outcomes.push(outcome)
    }
  }
} finally {
  await broker.stop()
  rmSync(work, { recursive: true, force: true })
}

const header = ['scenario', 'offset maps', 'done before', 'handled again', 'again / done', 'done in the last 1 s before']
const rows = outcomes.map((o) => [
  o.scenario,
  o.maps ? 'on (default)' : 'off',
  o.doneBefore.toLocaleString('en-US'),
  o.again.toLocaleString('en-US'),
  `${((100 * o.again) / Math.max(1, o.doneBefore)).toFixed(1)} %`,
  o.lastInterval.toLocaleString('en-US'),
])
const table = consoleTable({ head: header })
table.push(...rows)
process.stdout.write(`${table.toString()}\n`)
const intro = [
  '## Replays after a crash or a handoff (`npm run bench:replays`)',
  '',
  `\`npm run bench:replays\`, ${new Date().toISOString()}, ${broker.info.kind === 'apache-kafka' ? `Apache Kafka ${broker.info.version}` : broker.info.kind}: how many messages done before a SIGKILL, a`,
  'SIGTERM or a second member joining ran again after it, with offset maps (each commit carries the offsets done above the',
  'committed one) and without them (`--offset-map-max-bytes 0`, what kvp did before). `kvp run`, 64 lanes, 2 threads, 5 ms per',
  "message; with a slow key, key-0's first messages take 1.5 s each (one holds the committed offset back while the others finish).",
  '',
]
await writeFile(join(resultsDir, 'replays.md'), `${intro.join('\n')}\n${markdownTable(header, rows)}\n`)
process.stdout.write('wrote bench/results/replays.md\n')

async function run(scenario: Scenario, maps: boolean): Promise<Outcome> {
  const id = `${scenario.name.slice(1, 2)}-${maps ? 'on' : 'off'}-${Date.now()}`
  const topic = `replays-${id}`
  const group = `replays-${id}`
  const record = join(work, `${id}.tsv`)
  await createTopic(topic, scenario.partitions)
  for (let partition = 0; partition < scenario.partitions; partition++) {
    await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: scenario.count / scenario.partitions, keys: 200, size: 20, partition })
  }
  const start = (tag: string): ChildProcess =>
    spawn(
      process.execPath,
      [
        join(packageRoot, 'bin', 'kvp.js'),
        'run',
        '--brokers',
        broker.bootstrapServers,
        '--group',
        group,
        '--topic',
        topic,
        '--handler',
        handlerUrl('replay-recorder'),
        '--lanes',
        '64',
        '--threads',
        '2',
        '--offset-map-max-bytes',
        maps ? '4096' : '0',
        '--stats-interval-ms',
        '0',
        '-X',
        'partition.assignment.strategy=cooperative-sticky',
      ],
      { env: { ...process.env, KVP_BENCH_RECORD: record, KVP_BENCH_TAG: tag, KVP_BENCH_SLOW_BELOW: String(scenario.slowBelow) }, stdio: 'ignore' },
    )
  const first = start('before')
  await until(() => lines(record).length >= scenario.at, 120_000)
  const eventAt = Date.now()
  let second: ChildProcess
  if (scenario.event === 'join') {
    second = start('after')
  } else {
    first.kill(scenario.event)
    await exited(first)
    second = start('after')
  }
  const all = scenario.count
  await until(() => new Set(lines(record).map((line) => line.slice(line.indexOf('\t') + 1))).size >= all, 300_000)
  for (const proc of [first, second]) proc.kill('SIGTERM')
  await Promise.all([exited(first), exited(second)])
  // Before: what the first member handled until the event (for a join: until the second member's first message).
  const entries = lines(record).map((line) => line.split('\t'))
  const firstAfter = entries.findIndex(([tag]) => tag === 'after')
  const before = new Set(
    entries
      .slice(0, firstAfter < 0 ? entries.length : firstAfter)
      .filter(([tag]) => tag === 'before')
      .map(([, p, o]) => `${p}:${o}`),
  )
  const againAfter = entries.slice(firstAfter < 0 ? entries.length : firstAfter).filter(([, p, o]) => before.has(`${p}:${o}`))
  const lastInterval = entries.filter(([tag, , , t]) => tag === 'before' && Number(t) >= eventAt - 1000 && Number(t) <= eventAt).length
  return { scenario: scenario.name, maps, doneBefore: before.size, again: new Set(againAfter.map(([, p, o]) => `${p}:${o}`)).size, lastInterval }
}

function lines(file: string): string[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(Boolean)
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms`)
    await sleep(100)
  }
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => proc.once('exit', () => resolve()))
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': broker.bootstrapServers })
  try {
    await new Promise<void>((resolve, reject) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, (err) => (err ? reject(err) : resolve())))
  } finally {
    admin.disconnect()
  }
}
