/** Which runs a benchmark invocation makes, and how big each is. */
import type { Scenario } from '../handlers/work.js'
import { kvpSetup, type KvpSetup } from '../systems/kvp.js'
import type { SystemName } from './results.js'
import { MAX_PREFILL } from './topic-fill.js'

export interface PlannedRun {
  scenario: Scenario
  system: SystemName
  kvp: KvpSetup | null
  /** A peer's `maxConcurrency` (its runs only). */
  maxConcurrency?: number
  /** Partitions of the topic (the embedded cluster: 1). */
  partitions: number
  /** Messages in the topic: the embedded cluster's prefill, or a real broker's first fill of the shared topic. */
  count: number
  timeBoxMs: number
}

export interface PlanOptions {
  scenarios: readonly Scenario[]
  quick: boolean
  threads: number
  /** Extra `cpu` runs of kvp on SWEEP_LANES lanes, one per thread count. */
  threadSweep?: readonly number[]
  /** A real broker (sized bigger, over several partition counts) rather than the embedded cluster. */
  realBroker?: boolean
  /** Partition counts instead of the sizing's (a real broker only). */
  partitions?: readonly number[] | null
  /** `--peers`: Parallel Consumer after kvp in every scenario, at PEER_MIN_CONCURRENCY lanes and more of kvp's lane counts. */
  peers?: boolean
}

export interface Sizing {
  /** Messages in a topic before the first run reads it. */
  count: number
  /** A run stops this long after its first handled message. */
  timeBoxMs: number
  /** kvp's lane counts. */
  maxPartitions: readonly number[]
  /** Topic partition counts. */
  partitions: readonly number[]
  /** A real broker: a run that drains its topic faster than this is made again on a grown one (0: never). */
  minSeconds: number
}

/**
 * The peers run at kvp's lane counts from this one up: the lower ones show how kvp scales,
 * and a JVM started per run costs ~10 s each, so the comparison is kept where concurrency pays.
 */
export const PEER_MIN_CONCURRENCY = 16

/** The `maxConcurrency` values of a peer: kvp's lane counts of the sizing, from PEER_MIN_CONCURRENCY up. */
export function peerConcurrencies(lanes: readonly number[]): number[] {
  return lanes.filter((n) => n >= PEER_MIN_CONCURRENCY)
}

/** kvp with the other distributions (consistent, balanced) runs `io` at kvp's lane counts from this one up. */
export const OTHER_DISTRIBUTIONS_MIN_LANES = 64

/** Lanes of the `cpu` thread sweep: enough for every thread to have work. */
export const SWEEP_LANES = 64

/** The embedded cluster, which keeps at most 5 MiB / 100k messages per partition. */
export const FULL: Sizing = { count: MAX_PREFILL, timeBoxMs: 5_000, maxPartitions: [1, 4, 16, 64, 256], partitions: [1], minSeconds: 0 }
export const QUICK: Sizing = { count: MAX_PREFILL, timeBoxMs: 2_000, maxPartitions: [1, 16, 256], partitions: [1], minSeconds: 0 }

/**
 * A real broker: 2M messages to begin with (the fastest system here, KafkaJS without work,
 * reads ~300k msg/s), a 6 s time box, and every measured span at least 5 s: a run that
 * drains its topic sooner grows it and runs again.
 */
export const KAFKA_FULL: Sizing = { count: 2_000_000, timeBoxMs: 6_000, maxPartitions: [1, 4, 16, 64, 256], partitions: [1, 8], minSeconds: 5 }
/** A smoke test of the real-broker path (growing a drained topic included), in about two minutes. */
export const KAFKA_QUICK: Sizing = { count: 100_000, timeBoxMs: 1_500, maxPartitions: [16, 256], partitions: [1, 8], minSeconds: 1 }

export function sizing(quick: boolean, realBroker = false, partitions: readonly number[] | null = null): Sizing {
  const base = realBroker ? (quick ? KAFKA_QUICK : KAFKA_FULL) : quick ? QUICK : FULL
  return partitions === null ? base : { ...base, partitions }
}

/**
 * For each partition count, every scenario runs every baseline, then kvp over the lane
 * sweep, then (`peers`) Parallel Consumer at the same lane counts. Slow runs (1 ms per
 * message, one at a time) stop on the time box; fast ones handle the whole topic.
 */
export function planRuns(options: PlanOptions): PlannedRun[] {
  const { count, timeBoxMs, maxPartitions, partitions: partitionCounts } = sizing(options.quick, options.realBroker ?? false, options.partitions ?? null)
  const runs: PlannedRun[] = []
  for (const partitions of partitionCounts) {
    for (const scenario of options.scenarios) {
      for (const system of ['raw', 'one-at-a-time', 'kafkajs'] as const) {
        runs.push({ scenario, system, kvp: null, partitions, count, timeBoxMs })
      }
      for (const lanes of maxPartitions) {
        runs.push({ scenario, system: 'kvp', kvp: kvpSetup(lanes, options.threads, partitions), partitions, count, timeBoxMs })
      }
      // The other distributions where many lanes meet the hash's skew (io): what `consistent`
      // loses to its busiest lane, and what `balanced` pays for its batch barrier.
      if (scenario === 'io' && !options.quick) {
        for (const distribution of ['consistent', 'balanced'] as const) {
          for (const lanes of maxPartitions.filter((n) => n >= OTHER_DISTRIBUTIONS_MIN_LANES)) {
            runs.push({ scenario, system: `kvp-${distribution}`, kvp: kvpSetup(lanes, options.threads, partitions, distribution), partitions, count, timeBoxMs })
          }
        }
      }
      if (options.peers === true) {
        for (const maxConcurrency of peerConcurrencies(maxPartitions)) {
          runs.push({ scenario, system: 'parallel-consumer', kvp: null, maxConcurrency, partitions, count, timeBoxMs })
        }
      }
      if (scenario === 'cpu') {
        for (const threads of options.threadSweep ?? []) {
          if (threads === options.threads && maxPartitions.includes(SWEEP_LANES)) continue
          runs.push({ scenario, system: 'kvp', kvp: kvpSetup(SWEEP_LANES, threads, partitions), partitions, count, timeBoxMs })
        }
      }
    }
  }
  return runs
}
