import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'
import { channels } from '../diagnostics.js'
import type { ActiveFault } from '../kafka/fault-watch.js'

/** Where the engine is in its life, as the probes see it. */
export const Phases = {
  JOINING: 'joining',
  READY: 'ready',
  DRAINING: 'draining',
  STOPPED: 'stopped',
} as const
export type Phase = (typeof Phases)[keyof typeof Phases]

export interface HealthOptions {
  /** The main thread counts as stalled when a timer fires this much later than asked (default 5000 ms). */
  stallThresholdMs?: number
  /** A stall keeps liveness failing for this long after it ended (default 30000 ms). */
  stallMemoryMs?: number
  /**
   * Liveness fails once the worker pool has had no live thread for this long (default
   * 5000 ms): a thread that dies is replaced within a moment, a pool that cannot keep one is dead.
   */
  workerGraceMs?: number
  /** What to read from the engine; without it only the channels and the timer count. */
  sources?: HealthSources
}

/** What the monitor reads from the engine when probed (cheap reads, none per message). */
export interface HealthSources {
  /** Worker threads running a session, and how many were asked for. */
  workers?: () => { alive: number; configured: number }
  /** The consume loop is running. */
  polling?: () => boolean
  /** Partitions assigned to this member right now. */
  partitions?: () => number
  /** Client errors that stop progress, in force now (`engine.faults()`). */
  faults?: () => ActiveFault[]
}

export interface ProbeResult {
  ok: boolean
  phase: Phase
  /** Why it is not ok (empty when it is). */
  reasons: string[]
  /** What was checked, with the values seen (so a passing probe says why too). */
  checks?: Record<string, unknown>
}

/** A fault as a probe's reason: its kind, where, what went wrong. */
function faultReason(fault: ActiveFault): string {
  const where = fault.topic === undefined ? '' : ` ${fault.topic}${fault.partition === undefined ? '' : `[${fault.partition}]`}${fault.offset === undefined ? '' : ` at offset ${fault.offset}`}`
  return `${fault.code}${where}: ${fault.cause}`
}

const TICK_MS = 100
const DELAY_WINDOW_MS = 10_000

/**
 * Liveness and readiness, read from the diagnostics channels, a timer on the main thread and
 * a few cheap reads of the engine; nothing on the hot path. Liveness fails when the event loop
 * stalled past the threshold, the worker pool has had no live thread past a grace period, or
 * librdkafka reported a fatal error. Readiness holds once the group is joined (an assignment
 * arrived, possibly an empty one: a member of a group with more members than partitions is
 * ready with none) while the consume loop runs, and ends when the engine starts stopping
 * (SIGTERM drains).
 */
export class HealthMonitor {
  readonly #threshold: number
  readonly #memory: number
  readonly #workerGrace: number
  readonly #sources: HealthSources
  /** Since when (performance.now()) the pool has had no live thread; undefined while it has one. */
  #noWorkersSince: number | undefined
  readonly #delay: IntervalHistogram
  #delaySince = performance.now()
  #lastDelay: { p50: number; p99: number; max: number } | undefined
  readonly #timer: NodeJS.Timeout
  readonly #unsubscribe: Array<() => void>
  #phase: Phase = Phases.JOINING
  #lastTick = performance.now()
  #lastStall: { at: number; ms: number } | undefined
  #fatal: string | undefined
  #assignedAt: number | undefined

  constructor(options: HealthOptions = {}) {
    this.#threshold = options.stallThresholdMs ?? 5000
    this.#memory = options.stallMemoryMs ?? 30_000
    this.#workerGrace = options.workerGraceMs ?? 5000
    this.#sources = options.sources ?? {}
    this.#delay = monitorEventLoopDelay({ resolution: 20 })
    this.#delay.enable()
    this.#timer = setInterval(() => this.#tick(), TICK_MS)
    this.#timer.unref()
    this.#unsubscribe = [
      channels.rebalance.subscribe((e) => {
        if (e.kind === 'assign' && this.#phase === Phases.JOINING) {
          this.#phase = Phases.READY
          this.#assignedAt = Date.now()
        }
      }),
      channels.lifecycle.subscribe((e) => {
        if (e.state === 'stopping') this.#phase = Phases.DRAINING
        else if (e.state === 'stopped') this.#phase = Phases.STOPPED
      }),
      channels.kafkaError.subscribe((e) => {
        const error = e.error as { isFatal?: boolean; message?: string } | undefined
        if (error?.isFatal === true) this.#fatal = error.message ?? 'fatal consumer error'
      }),
    ]
  }

  #tick(): void {
    const now = performance.now()
    const late = now - this.#lastTick - TICK_MS
    this.#lastTick = now
    if (late >= this.#threshold) this.#lastStall = { at: now, ms: Math.round(late) }
    this.#watchWorkers(now)
    this.#rollDelayWindow(now)
  }

  #watchWorkers(now: number): { alive: number; configured: number } | undefined {
    const workers = this.#sources.workers?.()
    if (workers === undefined) return undefined
    if (workers.alive > 0) this.#noWorkersSince = undefined
    else this.#noWorkersSince ??= now
    return workers
  }

  get phase(): Phase {
    return this.#phase
  }

  /** Main-thread event-loop delay percentiles in milliseconds, over the last 10 s window (the current one until a window is complete). */
  eventLoopDelay(): { p50: number; p99: number; max: number } {
    this.#rollDelayWindow(performance.now())
    return this.#lastDelay ?? this.#readDelay()
  }

  #readDelay(): { p50: number; p99: number; max: number } {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100
    if (this.#delay.count === 0) return { p50: 0, p99: 0, max: 0 }
    return { p50: ms(this.#delay.percentile(50)), p99: ms(this.#delay.percentile(99)), max: ms(this.#delay.max) }
  }

  /** Percentiles cover the last whole window of DELAY_WINDOW_MS, so they say how the loop is now, not since start. */
  #rollDelayWindow(now: number): void {
    if (now - this.#delaySince < DELAY_WINDOW_MS) return
    this.#lastDelay = this.#readDelay()
    this.#delay.reset()
    this.#delaySince = now
  }

  liveness(): ProbeResult {
    this.#tick()
    const reasons: string[] = []
    const stall = this.#lastStall
    if (stall && performance.now() - stall.at < this.#memory) reasons.push(`event loop stalled for ${stall.ms} ms (threshold ${this.#threshold} ms)`)
    if (this.#fatal !== undefined) reasons.push(`consumer fatal error: ${this.#fatal}`)
    // Only what no wait can fix fails liveness (a codec the build lacks); the rest is readiness's.
    for (const fault of this.#sources.faults?.() ?? []) if (fault.permanent) reasons.push(faultReason(fault))
    const now = performance.now()
    const workers = this.#watchWorkers(now)
    const deadFor = this.#noWorkersSince === undefined ? 0 : now - this.#noWorkersSince
    if (workers && this.#noWorkersSince !== undefined && deadFor >= this.#workerGrace && this.#phase !== Phases.STOPPED) {
      reasons.push(`worker pool has no live thread (of ${workers.configured}) for ${Math.round(deadFor)} ms`)
    }
    const checks: Record<string, unknown> = {
      eventLoopStallMs: stall && now - stall.at < this.#memory ? stall.ms : 0,
      stallThresholdMs: this.#threshold,
      fatalError: this.#fatal ?? null,
    }
    if (workers) checks.workers = workers
    return { ok: reasons.length === 0, phase: this.#phase, reasons, checks }
  }

  readiness(): ProbeResult {
    const reasons: string[] = []
    if (this.#phase === Phases.JOINING) reasons.push('waiting for the group join and a partition assignment')
    if (this.#phase === Phases.DRAINING) reasons.push('draining: stopping after SIGTERM')
    if (this.#phase === Phases.STOPPED) reasons.push('stopped')
    const polling = this.#sources.polling?.()
    if (this.#phase === Phases.READY && polling === false) reasons.push('the consume loop is not running')
    const faults = this.#sources.faults?.()
    for (const fault of faults ?? []) reasons.push(faultReason(fault))
    const checks: Record<string, unknown> = { joined: this.#phase !== Phases.JOINING }
    if (faults !== undefined) checks.faults = faults.length
    if (polling !== undefined) checks.polling = polling
    const partitions = this.#sources.partitions?.()
    if (partitions !== undefined) {
      checks.partitions = partitions
      // A group with more members than partitions leaves some with none: they are joined, polling and ready to take over.
      if (this.#phase === Phases.READY && partitions === 0) checks.note = 'joined with no partitions assigned (the group has more members than partitions)'
    }
    return { ok: reasons.length === 0, phase: this.#phase, reasons, checks }
  }

  /** Partitions were assigned before this monitor subscribed. */
  assignedAlready(): void {
    if (this.#phase !== Phases.JOINING) return
    this.#phase = Phases.READY
    this.#assignedAt = Date.now()
  }

  get assignedAt(): number | undefined {
    return this.#assignedAt
  }

  close(): void {
    clearInterval(this.#timer)
    this.#delay.disable()
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }
}
