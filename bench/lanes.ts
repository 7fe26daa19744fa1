/**
 * `npm run bench:lanes`: where an io lane's time goes. kvp runs the `io` handler (a 1 ms
 * await) on one partition at one lane count, beside raw consume and one-at-a-time in the
 * same run, and the engine's `kvp:slice` / `kvp:ack` events split each lane's time into a
 * slice running in a worker, a slice in transit, and the lane between slices, with the CPU
 * of the machine, the process and the main thread over the same window (bench/report-lanes.ts).
 *
 * Writes bench/results/lanes.json, which docs/benchmarks.md is regenerated from.
 *
 * usage: npm run bench:lanes -- [--brokers mock|kafka|host:port] [--lanes 256] [--threads 2]
 *          [--tries 3] [--seconds 6] [--warmup 1] [--messages 2000000] [--distribution sticky]
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { Distribution } from '../src/config/options.js'
import { DEFAULT_DISTRIBUTION } from '../src/config/schema.js'
import { channels, type AckEvent, type SliceEvent } from '../src/diagnostics.js'
import { openBroker } from './lib/broker.js'
import { parseBrokers } from './lib/cli-args.js'
import { CpuMeter, type CpuWindow } from './lib/cpu-meter.js'
import { LaneTimeline } from './lib/lane-timeline.js'
import { threadClocks, threadWaits, type ThreadClock } from './lib/thread-sched.js'
import { machineInfo } from './lib/machine.js'
import type { Measurement } from './lib/meter.js'
import { resultsDir } from './lib/paths.js'
import { deleteTopics, freshNames, MAX_PREFILL, prefillTopic, SharedTopic } from './lib/topic-fill.js'
import { consoleTable } from './lib/console-table.js'
import { laneFigures, type LaneResults, type LaneTry } from './report-lanes.js'
import { writeReport } from './report.js'
import { kvpSetup, kvpSystem } from './systems/kvp.js'
import { runOneAtATime } from './systems/one-at-a-time.js'
import { runRaw } from './systems/raw.js'
import type { SystemRun } from './systems/system.js'

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: 'mock' },
    lanes: { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    tries: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '6' },
    warmup: { type: 'string' },
    messages: { type: 'string', default: '2000000' },
    distribution: { type: 'string', default: DEFAULT_DISTRIBUTION },
  },
})

function positive(flag: string, text: string | undefined, integer = true): number {
  const value = Number(text)
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    process.stderr.write(`--${flag}: expected a positive ${integer ? 'integer' : 'number'}, got '${text}'\n`)
    process.exit(2)
  }
  return value
}

const choice = (() => {
  try {
    return parseBrokers(values.brokers)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(2)
  }
})()
if (!['consistent', 'balanced', 'sticky'].includes(values.distribution)) {
  process.stderr.write(`--distribution: expected consistent, balanced or sticky, got '${values.distribution}'\n`)
  process.exit(2)
}
const LANES = positive('lanes', values.lanes)
const THREADS = positive('threads', values.threads)
const TRIES = positive('tries', values.tries)
const TIME_BOX_MS = positive('seconds', values.seconds, false) * 1000
const mock = choice.kind === 'mock'
// The embedded cluster holds 40,000 messages a partition: a run lasts well under a second, so nothing is left out.
const WARMUP_MS = values.warmup === undefined ? (mock ? 0 : 1000) : positive('warmup', values.warmup, false) * 1000
const MESSAGES = mock ? MAX_PREFILL : positive('messages', values.messages)
const DISTRIBUTION = values.distribution as Distribution
/** One-at-a-time only measures the handler's time per message: a short run is enough. */
const ONE_AT_A_TIME_MS = 3000

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

/** kvp with every lane's slices and acks stamped, and the CPU read over the window. */
async function runKvp(run: SystemRun): Promise<{ kvp: Measurement; lanes: LaneTry['lanes']; cpu: CpuWindow; sched: NonNullable<LaneTry['sched']> | null }> {
  // The engine's worker threads are the ones it starts that are not librdkafka's.
  const before = new Set(threadClocks()?.keys() ?? [])
  let clocksAt: Map<string, ThreadClock> | null = null
  let openedAt = 0
  let sched: NonNullable<LaneTry['sched']> | null = null
  const timeline = new LaneTimeline()
  const laneOf = (event: SliceEvent | AckEvent): number => event.partition * 65_536 + event.lane
  const onSlice = (event: SliceEvent): void => timeline.sent(laneOf(event), performance.now())
  const onAck = (event: AckEvent): void => timeline.acked(laneOf(event), performance.now(), event.handled, event.durationMs)
  let firstAt = Number.NaN
  let meter: CpuMeter | undefined
  let cpu: CpuWindow | undefined
  const closeWindow = (): void => {
    if (!timeline.counting || meter === undefined) return
    const now = performance.now()
    timeline.close(now)
    cpu = meter.read()
    const clocks = threadClocks()
    if (clocksAt !== null && clocks !== null) {
      const seconds = (now - openedAt) / 1000
      sched = {
        workers: threadWaits(clocksAt, clocks, seconds, (tid, clock) => !before.has(tid) && !clock.name.startsWith('rdk:')),
        main: threadWaits(clocksAt, clocks, seconds, (tid) => tid === String(process.pid)),
      }
    }
  }
  const onProgress = (handled: number): void => {
    const now = performance.now()
    if (handled > 0 && Number.isNaN(firstAt)) firstAt = now
    if (Number.isNaN(firstAt)) return
    if (meter === undefined && now >= firstAt + WARMUP_MS) {
      timeline.open(now)
      meter = new CpuMeter()
      clocksAt = threadClocks()
      openedAt = now
    } else if (now >= firstAt + TIME_BOX_MS - 150) {
      closeWindow()
    }
  }
  channels.slice.subscribe(onSlice)
  channels.ack.subscribe(onAck)
  try {
    const kvp = await kvpSystem({ ...kvpSetup(LANES, THREADS, 1), distribution: DISTRIBUTION })({ ...run, onProgress })
    // A run that drained the topic before its time box ends the window where it stopped.
    closeWindow()
    if (cpu === undefined) throw new Error(`kvp handled ${kvp.handled} messages in ${kvp.seconds.toFixed(2)} s: too few for a window (--warmup, --messages)`)
    return { kvp, lanes: timeline.result(), cpu, sched }
  } finally {
    channels.slice.unsubscribe(onSlice)
    channels.ack.unsubscribe(onAck)
  }
}

const broker = await openBroker(choice, log)
const topics: string[] = []
try {
  const shared = mock ? null : await SharedTopic.create(broker.bootstrapServers, 1, broker.info.kind)
  if (shared !== null) {
    topics.push(shared.name)
    log(`filling ${shared.name} with ${MESSAGES.toLocaleString('en-US')} messages`)
    await shared.grow(MESSAGES)
  }
  /** A run's topic: the shared one on a real broker, a fresh prefilled one on the embedded cluster. */
  const runOn = async (label: string, timeBoxMs: number): Promise<SystemRun> => {
    const names = freshNames(label)
    if (shared === null) await prefillTopic(broker.bootstrapServers, names.topic, MESSAGES)
    return { bootstrapServers: broker.bootstrapServers, topic: shared?.name ?? names.topic, groupId: names.groupId, scenario: 'io', count: MESSAGES, timeBoxMs, onProgress: () => {} }
  }
  const tries: LaneTry[] = []
  for (let i = 1; i <= TRIES; i++) {
    log(`try ${i} of ${TRIES}: raw, one-at-a-time, kvp ${LANES} lanes`)
    const raw = await runRaw(await runOn('lanes-raw', TIME_BOX_MS))
    const oneAtATime = await runOneAtATime(await runOn('lanes-one', ONE_AT_A_TIME_MS))
    const measured = await runKvp(await runOn('lanes-kvp', TIME_BOX_MS))
    tries.push({ raw, oneAtATime, ...measured })
    const f = laneFigures(tries[tries.length - 1] as LaneTry, LANES)
    log(`  kvp ${Math.round(f.kvp)} msg/s, raw ${Math.round(f.raw)}, ${f.workerMs.toFixed(3)} ms a message in a worker, ${Math.round(f.busyShare * 100)}% of lane time running`)
  }
  const results: LaneResults = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(),
    broker: broker.info,
    settings: { lanes: LANES, threads: THREADS, distribution: DISTRIBUTION, timeBoxMs: TIME_BOX_MS, warmupMs: WARMUP_MS, messages: MESSAGES },
    tries,
  }
  const table = consoleTable({ head: ['try', 'kvp msg/s', 'raw msg/s', 'ms/msg in worker', 'msg/slice', 'running / transit / between ms', 'lane time running'] })
  for (const [i, run] of tries.entries()) {
    const f = laneFigures(run, LANES)
    table.push([
      i + 1,
      Math.round(f.kvp),
      Math.round(f.raw),
      f.workerMs.toFixed(3),
      f.messagesPerSlice.toFixed(1),
      `${f.slice.worker.toFixed(1)} / ${f.slice.transit.toFixed(1)} / ${f.slice.between.toFixed(1)}`,
      `${Math.round(f.busyShare * 100)}%`,
    ])
  }
  console.log(table.toString())
  await writeFile(join(resultsDir, 'lanes.json'), `${JSON.stringify(results, null, 2)}\n`)
  await writeReport()
  log('wrote bench/results/lanes.json and docs/benchmarks.md')
} finally {
  if (topics.length > 0) await deleteTopics(broker.bootstrapServers, topics).catch(() => {})
  await broker.stop()
}
