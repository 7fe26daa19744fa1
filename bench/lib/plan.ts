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
}

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
  }
  return runs
}
