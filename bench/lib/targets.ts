/** The throughput targets, as ratios between systems measured in the same run. */
import type { Scenario } from '../handlers/work.js'
import { bestRun, ratio, type RunResult, type SystemName, type TargetResult } from './results.js'

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

/** Each target of a scenario that ran, judged on kvp's best lane count. */
export function judgeTargets(runs: readonly RunResult[]): TargetResult[] {
  const ran = new Set(runs.map((run) => run.scenario))
  return TARGETS.filter((target) => ran.has(target.scenario)).map((target) => {
    const measured = ratio(bestRun(runs, target.scenario, 'kvp'), bestRun(runs, target.scenario, target.over))
    return {
      scenario: target.scenario,
      description: target.description,
      ratio: measured,
      threshold: target.threshold,
      pass: measured === null ? null : measured >= target.threshold,
    }
  })
}
