import { performance } from 'node:perf_hooks'
import { channels } from '../diagnostics.js'
import type { Engine } from '../engine.js'

export interface SamplerOptions {
  /** How often stats are sampled for the history (default 2000 ms). */
  intervalMs?: number
  /** How much history is kept (default 600000 ms: ten minutes). */
  historyMs?: number
  /** How many recent errors, dead letters and rebalances are kept (default 50 each). */
  events?: number
}

/** A handler failure as the status page lists it. */
export interface ErrorEntry {
  at: number
  topic: string
  partition: number
  offset: number
  attempt: number
  code: string
  message: string
  willRetry: boolean
}

export interface DeadLetterEntry {
  at: number
  topic: string
  partition: number
  offset: number
  deadLetterTopic: string | null
  code: string
  message: string
}

export interface RebalanceEntry {
  at: number
  kind: 'assign' | 'revoke'
  generation: number
  cooperative: boolean
  partitions: Array<{ topic: string; partition: number }>
}

/** The sampled history: one time axis, and per series one value (or null: not assigned then) per time. */
export interface History {
  intervalMs: number
  /** Sample times, epoch milliseconds. */
  t: number[]
  /** Messages handled per second over the interval before each sample, all partitions. */
  handledPerSec: number[]
  /** Total lag in messages at each sample. */
  lag: number[]
  /** Per partition (`topic/partition`): handled per second, and lag in messages. */
  partitions: Record<string, { handledPerSec: Array<number | null>; lag: Array<number | null> }>
}

/** Keeps error messages (they come from user handlers) to a size a page can show. */
const MAX_MESSAGE = 500

/**
 * The status page's memory: a bounded history of throughput and lag per partition, sampled
 * from `engine.stats()` on a timer (not per message), and the last errors, dead letters and
 * rebalances from the diagnostics channels (one entry per event, which are rare).
 */
export class StatusSampler {
  readonly intervalMs: number
  readonly #engine: Engine
  readonly #capacity: number
  readonly #events: number
  readonly #timer: NodeJS.Timeout
  readonly #unsubscribe: Array<() => void>
  readonly #t: number[] = []
  readonly #rate: number[] = []
  readonly #lag: number[] = []
  readonly #series = new Map<string, { handledPerSec: Array<number | null>; lag: Array<number | null> }>()
  /** Per partition: its handled count at the last sample (a new assignment starts again at 0). */
  readonly #lastHandled = new Map<string, number>()
  #lastAt = performance.now()
  readonly errors: ErrorEntry[] = []
  readonly deadLetters: DeadLetterEntry[] = []
  readonly rebalances: RebalanceEntry[] = []
  /** Time spent in sample(), for the sampler's own cost. */
  sampleMs = { last: 0, max: 0, total: 0, count: 0 }

  constructor(engine: Engine, options: SamplerOptions = {}) {
    this.#engine = engine
    this.intervalMs = options.intervalMs ?? 2000
    this.#capacity = Math.max(2, Math.ceil((options.historyMs ?? 600_000) / this.intervalMs))
    this.#events = options.events ?? 50
    this.#timer = setInterval(() => this.sample(), this.intervalMs)
    this.#timer.unref()
    const keep = <T>(list: T[], entry: T): void => {
      list.push(entry)
      if (list.length > this.#events) list.shift()
    }
    this.#unsubscribe = [
      channels.handlerError.subscribe((e) => {
        keep(this.errors, {
          at: Date.now(),
          topic: e.topic,
          partition: e.partition,
          offset: e.offset,
          attempt: e.attempt,
          code: e.error.code,
          message: String(e.error.message).slice(0, MAX_MESSAGE),
          willRetry: e.willRetry,
        })
      }),
      channels.deadLetter.subscribe((e) => {
        keep(this.deadLetters, {
          at: Date.now(),
          topic: e.topic,
          partition: e.partition,
          offset: e.offset,
          deadLetterTopic: e.deadLetterTopic ?? null,
          code: e.error.code,
          message: String(e.error.message).slice(0, MAX_MESSAGE),
        })
      }),
      channels.rebalance.subscribe((e) => {
        keep(this.rebalances, {
          at: Date.now(),
          kind: e.kind,
          generation: e.generation,
          cooperative: e.cooperative,
          partitions: e.partitions.map(({ topic, partition }) => ({ topic, partition })),
        })
      }),
    ]
  }

  /** Takes one sample (the timer calls it; tests may too). */
  sample(): void {
    const started = performance.now()
    const stats = this.#engine.stats()
    const now = performance.now()
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000)
    this.#lastAt = now
    const full = this.#t.length >= this.#capacity
    if (full) {
      this.#t.shift()
      this.#rate.shift()
      this.#lag.shift()
      for (const series of this.#series.values()) {
        series.handledPerSec.shift()
        series.lag.shift()
      }
    }
    const length = this.#t.length
    let total = 0
    const seen = new Set<string>()
    for (const p of stats.partitions) {
      const key = `${p.topic}/${p.partition}`
      seen.add(key)
      const last = this.#lastHandled.get(key)
      const delta = last === undefined ? 0 : p.handled >= last ? p.handled - last : p.handled
      this.#lastHandled.set(key, p.handled)
      const rate = Math.round((delta / seconds) * 10) / 10
      total += rate
      let series = this.#series.get(key)
      if (!series) {
        series = { handledPerSec: new Array<number | null>(length).fill(null), lag: new Array<number | null>(length).fill(null) }
        this.#series.set(key, series)
      }
      series.handledPerSec.push(rate)
      series.lag.push(p.lag)
    }
    for (const [key, series] of this.#series) {
      if (seen.has(key)) continue
      this.#lastHandled.delete(key)
      series.handledPerSec.push(null)
      series.lag.push(null)
      // Gone for the whole window: dropped.
      if (series.handledPerSec.every((v) => v === null)) this.#series.delete(key)
    }
    this.#t.push(Date.now())
    this.#rate.push(Math.round(total * 10) / 10)
    this.#lag.push(stats.totals.lag)
    const took = performance.now() - started
    this.sampleMs = { last: took, max: Math.max(this.sampleMs.max, took), total: this.sampleMs.total + took, count: this.sampleMs.count + 1 }
  }

  history(): History {
    const partitions: History['partitions'] = {}
    for (const [key, series] of this.#series) partitions[key] = { handledPerSec: [...series.handledPerSec], lag: [...series.lag] }
    return { intervalMs: this.intervalMs, t: [...this.#t], handledPerSec: [...this.#rate], lag: [...this.#lag], partitions }
  }

  close(): void {
    clearInterval(this.#timer)
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }
}
