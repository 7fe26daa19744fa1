/** The throughput targets, as ratios between systems measured in the same run. */
import type { Scenario } from '../handlers/work.js'
import { bestRun, partitionCounts, ratio, type RunResult, type SystemName, type TargetResult } from './results.js'

interface Target {
  scenario: Scenario
  description: string
  over: SystemName
  threshold: number
  /** Judged on kvp at this lane count; without it, on kvp's best lane count. */
  lanes?: number
}

const TARGETS: readonly Target[] = [
  { scenario: 'io', description: 'kvp at 256 lanes ≥ 80× one-at-a-time', over: 'one-at-a-time', threshold: 80, lanes: 256 },
  { scenario: 'io', description: 'kvp at 256 lanes ≥ 60% of raw consume', over: 'raw', threshold: 0.6, lanes: 256 },
  { scenario: 'noop', description: 'kvp at 16 lanes ≥ 85% of raw consume', over: 'raw', threshold: 0.85, lanes: 16 },
  { scenario: 'noop', description: 'kvp at 64 lanes ≥ 85% of raw consume', over: 'raw', threshold: 0.85, lanes: 64 },
  { scenario: 'noop', description: 'kvp at 256 lanes ≥ 85% of raw consume', over: 'raw', threshold: 0.85, lanes: 256 },
  { scenario: 'cpu', description: 'kvp ≥ 1.7× one-at-a-time', over: 'one-at-a-time', threshold: 1.7 },
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
  const kvp =
    target.lanes === undefined
      ? bestRun(runs, target.scenario, 'kvp', partitions)
      : bestRun(
          runs.filter((run) => run.kvp?.maxPartitions === target.lanes),
          target.scenario,
          'kvp',
          partitions,
        )
  const measured = ratio(kvp, bestRun(runs, target.scenario, target.over, partitions))
  return {
    scenario: target.scenario,
    partitions,
    description: target.description,
    ratio: measured,
    threshold: target.threshold,
    pass: measured === null ? null : measured >= target.threshold,
  }
}
