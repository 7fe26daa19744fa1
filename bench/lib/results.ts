/** The shape of bench/results/*.json, and the lookups the table, chart and report share. */
import type { Scenario } from '../handlers/work.js'
import type { KvpSetup } from '../systems/kvp.js'
import type { MachineInfo } from './machine.js'
import type { Measurement } from './meter.js'
import type { Percentiles } from './percentiles.js'

export const SystemNames = ['raw', 'one-at-a-time', 'kafkajs', 'kvp', 'kvp-consistent', 'kvp-balanced', 'parallel-consumer'] as const
export type SystemName = (typeof SystemNames)[number]

/** `mock`: librdkafka's embedded cluster; `apache-kafka`: a broker the run started; `external`: one it was pointed at. */
export type BrokerKind = 'mock' | 'apache-kafka' | 'external'

export interface BrokerInfo {
  kind: BrokerKind
  /** The Apache Kafka release, when the run started the broker itself. */
  version: string | null
}

export interface RunResult {
  scenario: Scenario
  system: SystemName
  /** kvp's lanes and threads; null for the baselines. */
  kvp: KvpSetup | null
  /** A peer (Parallel Consumer): its `maxConcurrency`, set to one of kvp's lane counts. */
  maxConcurrency?: number
  /** Partitions of the topic (the embedded cluster: 1, partition 0 of the run's own topic). */
  partitions: number
  /**
   * Messages in the topic the run read from the beginning: its own fresh topic on the
   * embedded cluster, the partition count's shared topic on a real broker.
   */
  prefilled: number
  timeBoxMs: number
  measurement: Measurement | null
  /** Why the run produced no measurement. */
  error: string | null
  /** When the run was short enough to repeat: every repeat's msg/s (the measurement is the median). */
  repeats?: number[]
  /** A real broker: the run drained the topic too fast, so it was grown and the run made again; the drained attempts' msg/s. */
  regrown?: number[]
}

/** A peer of `--peers`: a library on another runtime, measured against the same broker in the same run. */
export interface PeerInfo {
  /** The system's name in the runs. */
  name: SystemName
  title: string
  /** Maven coordinates and version of the library. */
  artifact: string
  version: string
  kafkaClients: string | null
  /** The Java runtime it ran on, as the JVM reported it (null when it did not run). */
  java: string | null
  /** What the `cpu` work took per message on its runtime, measured by its first run (null before one ran). */
  cpuMicrosPerMessage?: number | null
  /** The `maxConcurrency` values it ran with. */
  maxConcurrency: number[]
  /** Why it did not run (a missing tool, a failed build); null when it did. */
  notRun: string | null
}

export interface LatencyResult {
  kvp: KvpSetup
  /** Partitions of the streamed topic (absent in older files: 1). */
  partitions?: number
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
  /** Partitions of the topic the ratio was measured on. */
  partitions: number
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
  /** The embedded cluster: the most messages a fresh topic is prefilled with. A real broker: each shared topic's first fill. */
  maxPrefill: number
  timeBoxMs: number
  /** Partition counts the runs covered (the embedded cluster: [1]). */
  partitionsSweep: number[]
  /** A real broker: a run that drains its topic in less than this is made again on a bigger one; 0: never. */
  minMeasuredSeconds: number
  threads: number
  maxPartitionsSweep: number[]
  cpuRounds: number
  /** What the `cpu` work took per message on this machine, measured before the runs. */
  cpuMicrosPerMessage: number
  kvpStatsEveryMs: number
  /** A real broker: tries per cell (`--repeats`), interleaved over the plan; absent in older results. */
  repeats?: number
}

/** A real broker: one fill of a shared topic (the first, or a growth after a run drained it). */
export interface FilledTopic {
  partitions: number
  /** Messages the topic held before, and after. */
  from: number
  to: number
  seconds: number
  why: string
}

export interface BenchResults {
  version: 1
  mode: 'full' | 'quick'
  broker: BrokerInfo
  startedAt: string
  finishedAt: string
  machine: MachineInfo
  settings: BenchSettings
  /** A real broker: how the shared topics were filled. */
  topics?: FilledTopic[]
  runs: RunResult[]
  /** `--peers`: the peers asked for, run or not (absent without the flag). */
  peers?: PeerInfo[]
  latency: LatencyResult | null
  targets: TargetResult[]
  micro: MicroResults | null
}

export function rateOf(run: RunResult | undefined): number | null {
  const rate = run?.measurement?.msgPerSec
  return rate === undefined || rate <= 0 ? null : rate
}

/**
 * Results as written by any version of the benchmark: files from before real brokers
 * were benchmarked are embedded-cluster runs on one partition.
 */
export function normalizeResults(results: BenchResults): BenchResults {
  const settings = { ...results.settings, partitionsSweep: results.settings.partitionsSweep ?? [1], minMeasuredSeconds: results.settings.minMeasuredSeconds ?? 0 }
  return {
    ...results,
    broker: results.broker ?? { kind: 'mock', version: null },
    settings,
    runs: results.runs.map((run) => ({ ...run, partitions: run.partitions ?? 1 })),
    targets: results.targets.map((target) => ({ ...target, partitions: target.partitions ?? 1 })),
  }
}

/** The partition counts of the runs, smallest first. */
export function partitionCounts(runs: readonly RunResult[]): number[] {
  return [...new Set(runs.map((run) => run.partitions))].sort((a, b) => a - b)
}

/** The fastest measured run of a system in a scenario (kvp: over the lane sweep), on `partitions` if given. */
export function bestRun(runs: readonly RunResult[], scenario: Scenario, system: SystemName, partitions?: number): RunResult | undefined {
  let best: RunResult | undefined
  for (const run of runs) {
    if (run.scenario !== scenario || run.system !== system || rateOf(run) === null) continue
    if (partitions !== undefined && run.partitions !== partitions) continue
    if (best === undefined || (rateOf(run) ?? 0) > (rateOf(best) ?? 0)) best = run
  }
  return best
}

export function ratio(numerator: RunResult | undefined, denominator: RunResult | undefined): number | null {
  const top = rateOf(numerator)
  const bottom = rateOf(denominator)
  return top === null || bottom === null ? null : top / bottom
}
