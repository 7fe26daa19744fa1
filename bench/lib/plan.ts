/** Which runs a benchmark invocation makes, and how big each is. */
import type { Scenario } from '../handlers/work.js'
import { kvpSetup, type KvpSetup } from '../systems/kvp.js'
import type { SystemName } from './results.js'
import { MAX_PREFILL } from './topic-fill.js'

export interface PlannedRun {
  scenario: Scenario
  system: SystemName
  kvp: KvpSetup | null
  count: number
  timeBoxMs: number
}

export interface PlanOptions {
  scenarios: readonly Scenario[]
  quick: boolean
  threads: number
  /** Extra `cpu` runs of kvp on SWEEP_LANES lanes, one per thread count. */
  threadSweep?: readonly number[]
}

/** Lanes of the `cpu` thread sweep: enough for every thread to have work. */
export const SWEEP_LANES = 64

export const FULL = { count: MAX_PREFILL, timeBoxMs: 5_000, maxPartitions: [1, 4, 16, 64, 256] } as const
export const QUICK = { count: MAX_PREFILL, timeBoxMs: 2_000, maxPartitions: [1, 16, 256] } as const

export function sizing(quick: boolean): typeof FULL | typeof QUICK {
  return quick ? QUICK : FULL
}

/**
 * Every scenario runs every baseline, then kvp over the lane sweep. Slow runs (1 ms per
 * message, one at a time) stop on the time box; fast ones handle the whole prefill.
 */
export function planRuns(options: PlanOptions): PlannedRun[] {
  const { count, timeBoxMs, maxPartitions } = sizing(options.quick)
  const runs: PlannedRun[] = []
  for (const scenario of options.scenarios) {
    for (const system of ['raw', 'one-at-a-time', 'kafkajs'] as const) {
      runs.push({ scenario, system, kvp: null, count, timeBoxMs })
    }
    for (const lanes of maxPartitions) {
      runs.push({ scenario, system: 'kvp', kvp: kvpSetup(lanes, options.threads), count, timeBoxMs })
    }
    if (scenario === 'cpu') {
      for (const threads of options.threadSweep ?? []) {
        if (threads === options.threads && (maxPartitions as readonly number[]).includes(SWEEP_LANES)) continue
        runs.push({ scenario, system: 'kvp', kvp: kvpSetup(SWEEP_LANES, threads), count, timeBoxMs })
      }
    }
  }
  return runs
}
