import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'
import { channels } from '../diagnostics.js'

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
}

export interface ProbeResult {
  ok: boolean
  phase: Phase
  reasons: string[]
}

const TICK_MS = 100

/**
 * Liveness and readiness, read from the diagnostics channels and a timer on the main thread;
 * nothing on the hot path. Liveness fails when the event loop stalled past the threshold or
 * librdkafka reported a fatal error; readiness holds once partitions were assigned and ends
 * when the engine starts stopping (SIGTERM drains).
 */
export class HealthMonitor {
  readonly #threshold: number
  readonly #memory: number
  readonly #delay: IntervalHistogram
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
  }

  get phase(): Phase {
    return this.#phase
  }

  /** Main-thread event-loop delay percentiles in milliseconds since the last reset. */
  eventLoopDelay(): { p50: number; p99: number; max: number } {
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100
    return { p50: ms(this.#delay.percentile(50)), p99: ms(this.#delay.percentile(99)), max: ms(this.#delay.max) }
  }

  liveness(): ProbeResult {
    this.#tick()
    const reasons: string[] = []
    const stall = this.#lastStall
    if (stall && performance.now() - stall.at < this.#memory) reasons.push(`event loop stalled for ${stall.ms} ms (threshold ${this.#threshold} ms)`)
    if (this.#fatal !== undefined) reasons.push(`consumer fatal error: ${this.#fatal}`)
    return { ok: reasons.length === 0, phase: this.#phase, reasons }
  }

  readiness(): ProbeResult {
    const reasons: string[] = []
    if (this.#phase === Phases.JOINING) reasons.push('waiting for the group join and a partition assignment')
    if (this.#phase === Phases.DRAINING) reasons.push('draining: stopping after SIGTERM')
    if (this.#phase === Phases.STOPPED) reasons.push('stopped')
    return { ok: reasons.length === 0, phase: this.#phase, reasons }
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
