import type { WorkerStats } from '../dispatch/pool.js'
import type { Engine } from '../engine.js'
import type { ActiveFault } from '../kafka/fault-watch.js'
import type { EngineStats } from '../stats.js'
import type { HealthMonitor, Phase, ProbeResult } from './health.js'
import type { DeadLetterEntry, ErrorEntry, History, RebalanceEntry, StatusSampler } from './status-sampler.js'

/** What `GET /status` answers, and what the status page draws. */
export interface StatusReport extends EngineStats {
  generatedAt: number
  group: string | null
  phase: Phase
  liveness: ProbeResult
  readiness: ProbeResult
  polling: boolean
  eventLoopDelayMs: { p50: number; p99: number; max: number }
  workers: WorkerStats
  history: History
  errors: ErrorEntry[]
  /** Client errors that stop progress, in force now: credentials, TLS, ACLs, topics, codecs, unreadable batches. */
  faults: ActiveFault[]
  deadLetters: DeadLetterEntry[]
  rebalances: RebalanceEntry[]
  /** The sampler's own cost per sample, in milliseconds. */
  sampler: { intervalMs: number; lastMs: number; maxMs: number; meanMs: number }
}

/** Everything the operations server knows, in one JSON-safe object. */
export function statusReport(engine: Engine, health: HealthMonitor, sampler: StatusSampler, group: string | undefined): StatusReport {
  const cost = sampler.sampleMs
  return {
    generatedAt: Date.now(),
    group: group ?? null,
    phase: health.phase,
    liveness: health.liveness(),
    readiness: health.readiness(),
    polling: engine.polling,
    eventLoopDelayMs: health.eventLoopDelay(),
    ...engine.stats(),
    workers: engine.workers(),
    history: sampler.history(),
    errors: [...sampler.errors],
    faults: engine.faults(),
    deadLetters: [...sampler.deadLetters],
    rebalances: [...sampler.rebalances],
    sampler: {
      intervalMs: sampler.intervalMs,
      lastMs: round(cost.last),
      maxMs: round(cost.max),
      meanMs: round(cost.count === 0 ? 0 : cost.total / cost.count),
    },
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
