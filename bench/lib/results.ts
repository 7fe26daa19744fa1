/** The shape of bench/results/*.json, and the lookups the table, chart and report share. */
import type { Scenario } from '../handlers/work.js'
import type { KvpSetup } from '../systems/kvp.js'
import type { MachineInfo } from './machine.js'
import type { Measurement } from './meter.js'
import type { Percentiles } from './percentiles.js'

export const SystemNames = ['raw', 'one-at-a-time', 'kafkajs', 'kvp'] as const
export type SystemName = (typeof SystemNames)[number]

export interface RunResult {
  scenario: Scenario
  system: SystemName
  /** kvp's lanes and threads; null for the baselines. */
  kvp: KvpSetup | null
  /** Messages prefilled into partition 0 of the run's fresh topic. */
  prefilled: number
  timeBoxMs: number
  measurement: Measurement | null
  /** Why the run produced no measurement. */
  error: string | null
  /** When the run was short enough to repeat: every repeat's msg/s (the measurement is the median). */
  repeats?: number[]
}

export interface LatencyResult {
  kvp: KvpSetup
  /** Messages per second the producer aimed at: half of kvp's best `io` rate in this run. */
  targetRate: number
  producedRate: number
  durationMs: number
  /** Samples from the first `warmupMs` of the stream are left out. */
  warmupMs: number
  produced: number
  handled: number
  /** Producer timestamp to handler start, in ms. */
  latencyMs: Percentiles | null
  error: string | null
}

export interface TargetResult {
  scenario: Scenario
  description: string
  /** The measured ratio, or null when a side of it is missing. */
  ratio: number | null
  threshold: number
  pass: boolean | null
}

export interface MicroResult {
  name: string
  nsPerMessage: number
  note: string
}

export interface MicroResults {
  at: string
  machine: MachineInfo
  results: MicroResult[]
}

export interface BenchSettings {
  keys: number
  valueBytes: number
  maxPrefill: number
  timeBoxMs: number
  threads: number
  maxPartitionsSweep: number[]
  cpuRounds: number
  /** What the `cpu` work took per message on this machine, measured before the runs. */
  cpuMicrosPerMessage: number
  kvpStatsEveryMs: number
}

export interface BenchResults {
  version: 1
  mode: 'full' | 'quick'
  startedAt: string
  finishedAt: string
  machine: MachineInfo
  settings: BenchSettings
  runs: RunResult[]
  latency: LatencyResult | null
  targets: TargetResult[]
  micro: MicroResults | null
}

export function rateOf(run: RunResult | undefined): number | null {
  const rate = run?.measurement?.msgPerSec
  return rate === undefined || rate <= 0 ? null : rate
}

/** The fastest measured run of a system in a scenario (kvp: over the lane sweep). */
export function bestRun(runs: readonly RunResult[], scenario: Scenario, system: SystemName): RunResult | undefined {
  let best: RunResult | undefined
  for (const run of runs) {
    if (run.scenario !== scenario || run.system !== system || rateOf(run) === null) continue
    if (best === undefined || (rateOf(run) ?? 0) > (rateOf(best) ?? 0)) best = run
  }
  return best
}

export function ratio(numerator: RunResult | undefined, denominator: RunResult | undefined): number | null {
  const top = rateOf(numerator)
  const bottom = rateOf(denominator)
  return top === null || bottom === null ? null : top / bottom
}
