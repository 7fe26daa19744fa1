/** The throughput targets, as ratios between systems measured in the same run. */
import type { Scenario } from '../handlers/work.js'
import { bestRun, partitionCounts, ratio, type RunResult, type SystemName, type TargetResult } from './results.js'

interface Target {
  scenario: Scenario
  description: string
  over: SystemName
  threshold: number
}

const TARGETS: readonly Target[] = [
  { scenario: 'io', description: 'kvp ≥ 40× one-at-a-time', over: 'one-at-a-time', threshold: 40 },
  { scenario: 'io', description: 'kvp ≥ 50% of raw consume', over: 'raw', threshold: 0.5 },
  { scenario: 'noop', description: 'kvp ≥ 70% of raw consume', over: 'raw', threshold: 0.7 },
  { scenario: 'cpu', description: 'kvp ≥ 1.6× one-at-a-time', over: 'one-at-a-time', threshold: 1.6 },
]

/**
 * Each target of a scenario that ran, judged on kvp's best lane count against the
 * baselines of the same run and the same partition count (once per partition count).
 */
export function judgeTargets(runs: readonly RunResult[]): TargetResult[] {
  return partitionCounts(runs).flatMap((partitions) => {
    const ran = new Set(runs.filter((run) => run.partitions === partitions).map((run) => run.scenario))
    return TARGETS.filter((target) => ran.has(target.scenario)).map((target) => judge(runs, target, partitions))
  })
}

function judge(runs: readonly RunResult[], target: Target, partitions: number): TargetResult {
  const measured = ratio(bestRun(runs, target.scenario, 'kvp', partitions), bestRun(runs, target.scenario, target.over, partitions))
  return {
    scenario: target.scenario,
    partitions,
    description: target.description,
    ratio: measured,
    threshold: target.threshold,
    pass: measured === null ? null : measured >= target.threshold,
  }
}
