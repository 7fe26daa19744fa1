/**
 * The "An io lane's time" part of docs/benchmarks.md, from `npm run bench:lanes`
 * (bench/results/lanes.json): what kept kvp's io throughput below the lanes' ceiling.
 */
import { markdownTable } from './lib/format.js'
import type { CpuWindow } from './lib/cpu-meter.js'
import type { LaneTimes } from './lib/lane-timeline.js'
import type { ThreadWaits } from './lib/thread-sched.js'
import type { MachineInfo } from './lib/machine.js'
import type { Measurement } from './lib/meter.js'
import type { BrokerInfo } from './lib/results.js'

export interface LaneTry {
  raw: Measurement
  oneAtATime: Measurement
  kvp: Measurement
  lanes: LaneTimes
  cpu: CpuWindow
  /** The worker threads' and the main thread's scheduling (Linux), absent in older results. */
  sched?: { workers: ThreadWaits; main: ThreadWaits } | null
}

export interface LaneResults {
  startedAt: string
  machine: MachineInfo
  broker: BrokerInfo
  settings: { lanes: number; threads: number; distribution: string; timeBoxMs: number; warmupMs: number; messages: number }
  tries: LaneTry[]
}

/** What one try says, in the units the table shows. */
export interface LaneFigures {
  kvp: number
  raw: number
  /** One message one at a time, in ms: the handler's own time on this machine, in this run. */
  handlerMs: number
  /** min(raw, lanes ÷ handler time). */
  ceiling: number
  /** A message's time in a worker, in ms. */
  workerMs: number
  messagesPerSlice: number
  /** Per slice, in ms. */
  slice: { worker: number; transit: number; between: number }
  /** Of all lane time in the window: running in a worker. */
  busyShare: number
  cpu: CpuWindow
}

export function laneFigures(run: LaneTry, lanes: number): LaneFigures {
  const t = run.lanes
  const slices = Math.max(1, t.slices)
  const handlerMs = run.oneAtATime.msgPerSec > 0 ? 1000 / run.oneAtATime.msgPerSec : Number.NaN
  const laneMs = lanes * t.windowMs
  return {
    kvp: run.kvp.msgPerSec,
    raw: run.raw.msgPerSec,
    handlerMs,
    ceiling: Math.min(run.raw.msgPerSec, (lanes * 1000) / handlerMs),
    workerMs: t.messages > 0 ? t.workerMs / t.messages : Number.NaN,
    messagesPerSlice: t.messages / slices,
    slice: { worker: t.workerMs / slices, transit: t.transitMs / slices, between: t.betweenMs / slices },
    busyShare: laneMs > 0 ? t.workerMs / laneMs : Number.NaN,
    cpu: run.cpu,
  }
}

function wakeups(workers: ThreadWaits | undefined): string {
  if (workers === undefined || workers.threads === 0) return '–'
  return `${int(workers.runsPerSecond)} / ${fixed(workers.waitMsPerRun, 3)} / ${fixed(workers.cpuMsPerRun, 3)}`
}

/** Where a worker's extra time per message goes, when the scheduler's figures are there. */
function lateTimer(workers: ThreadWaits | undefined, f: LaneFigures): string[] {
  if (workers === undefined || workers.threads === 0) return []
  return [
    `Each worker thread woke ${int(workers.runsPerSecond)} times a second (its 1 ms timers, tasks arriving) and each time waited`,
    `${fixed(workers.waitMsPerRun, 3)} ms for a core and then ran ${fixed(workers.cpuMsPerRun, 3)} ms (its handlers' calls, acks, decoding), ${fixed(workers.waitMsPerRun + workers.cpuMsPerRun, 3)} ms`,
    `in all before its next 1 ms timer could start; a message took ${fixed(f.workerMs - f.handlerMs, 3)} ms longer in a worker than one at a time.`,
  ]
}

/** The try with the median kvp rate. */
export function medianTry(tries: readonly LaneTry[]): LaneTry | undefined {
  const sorted = [...tries].sort((a, b) => a.kvp.msgPerSec - b.kvp.msgPerSec)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

const int = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–')
const fixed = (value: number | null, digits: number): string => (value !== null && Number.isFinite(value) ? value.toFixed(digits) : '–')
const percent = (value: number): string => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : '–')

export function lanesSection(results: LaneResults | null): string[] {
  const out: string[] = ["### An io lane's time (`npm run bench:lanes`)", '']
  if (results === null) return [...out, 'Not run yet: `npm run bench:lanes -- --brokers kafka`.', '']
  const { settings, machine, broker } = results
  const brokerName = broker.kind === 'apache-kafka' ? `Apache Kafka ${broker.version}` : broker.kind === 'mock' ? 'the embedded cluster' : 'an external cluster'
  out.push(
    `\`npm run bench:lanes\`, ${results.startedAt}, on ${brokerName}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}:`,
    `kvp with the \`io\` handler (a 1 ms await) on one partition, ${settings.lanes} lanes (\`${settings.distribution}\`), ${settings.threads} worker threads,`,
    `a ${settings.timeBoxMs / 1000} s time box, beside raw consume and one-at-a-time in the same run, ${results.tries.length} tries interleaved.`,
    "The engine's `kvp:slice` and `kvp:ack` events, stamped on arrival, split every lane's time in the window",
    `(from ${settings.warmupMs / 1000} s after the first handled message to the end of the time box) three ways: a slice **running** in a worker`,
    "(the ack's `durationMs`), a slice in **transit** (sent → ack applied, less the worker's time: the task on its way and",
    'waiting in the worker, the ack in its batch and then waiting for a busy main thread) and the lane **between** slices',
    '(ack applied → next slice sent). CPU is in cores over the same window: the machine (the broker included when it',
    "runs here), the benchmark process, and its main thread. A worker thread's wake-ups come from Linux's",
    "`/proc/self/task/<tid>/schedstat` over the same window (the threads the engine started, less librdkafka's): how often",
    'each got a core, how long it waited for one while runnable, and how long it ran.',
    '',
  )
  const rows = results.tries.map((run, i) => {
    const f = laneFigures(run, settings.lanes)
    return [
      String(i + 1),
      int(f.kvp),
      percent(f.kvp / f.raw),
      percent(f.kvp / f.ceiling),
      fixed(f.handlerMs, 3),
      fixed(f.workerMs, 3),
      fixed(f.messagesPerSlice, 1),
      `${fixed(f.slice.worker, 1)} / ${fixed(f.slice.transit, 1)} / ${fixed(f.slice.between, 1)}`,
      percent(f.busyShare),
      `${fixed(f.cpu.machineCores, 2)} / ${fixed(f.cpu.processCores, 2)} / ${fixed(f.cpu.mainThreadCores, 2)}`,
      percent(f.cpu.mainLoopUtilization),
      wakeups(run.sched?.workers),
    ]
  })
  out.push(
    markdownTable(
      [
        'try',
        'kvp msg/s',
        '% of raw',
        '% of ceiling',
        'ms / msg one at a time',
        'ms / msg in a worker',
        'msg / slice',
        'ms / slice: running / transit / between',
        'lane time running',
        'cores: machine / process / main thread',
        'main loop busy',
        'worker wake-ups: per s / ms waiting for a core / ms running',
      ],
      rows,
    ),
    '',
  )
  const median = medianTry(results.tries)
  if (median !== undefined) {
    const f = laneFigures(median, settings.lanes)
    const laneCeiling = (settings.lanes * 1000) / f.handlerMs
    out.push(
      `In the median try kvp handled ${int(f.kvp)} msg/s against a ceiling of ${int(f.ceiling)} (raw ${int(f.raw)}, ${settings.lanes} lanes ÷ ${fixed(f.handlerMs, 3)} ms = ${int(laneCeiling)}).`,
      `Two things account for the rest: a message took ${fixed(f.workerMs, 3)} ms in a worker instead of ${fixed(f.handlerMs, 3)} ms one at a time`,
      `(${percent(f.handlerMs / f.workerMs)} of the speed: the timer fires late on a machine whose ${machine.cpus} cores are ${fixed(f.cpu.machineCores, 2)} busy),`,
      `and a lane spent ${percent(f.busyShare)} of its time running a slice: around each slice of ${fixed(f.messagesPerSlice, 1)} messages (${fixed(f.slice.worker, 1)} ms) it waited`,
      `${fixed(f.slice.transit, 1)} ms in transit and ${fixed(f.slice.between, 1)} ms between slices, while the main thread was ${percent(f.cpu.mainLoopUtilization)} busy.`,
      `${settings.lanes} × ${percent(f.busyShare)} ÷ ${fixed(f.workerMs, 3)} ms = ${int((settings.lanes * f.busyShare * 1000) / f.workerMs)} msg/s, the measured figure.`,
      ...lateTimer(median.sched?.workers, f),
      '',
    )
  }
  return out
}
