import type { PartitionState } from './dispatch/partition-state.js'
import { partitionStats } from './dispatch/partition-stats.js'
import type { EngineStats, PartitionStats } from './stats.js'

/** What `engine.stats()` reads beside the partitions, each when asked. */
export interface StatsSources {
  /** Slices sent to the workers and not yet acked. */
  readonly slicesInFlight: number
  /** Commits made: offset commits, or committed transactions. */
  readonly commits: number
  /** The group generation of the current assignment. */
  readonly generation: number
  /** A partition's high watermark, or undefined when not known (not connected, not read yet). */
  highWatermark(state: PartitionState): number | undefined
}

/**
 * The snapshot `engine.stats()` returns: one line per owned partition (sorted by topic,
 * then partition) and the totals over them. Derived afresh on each call; nothing is kept.
 */
export function engineStats(states: readonly PartitionState[], sources: StatsSources, now = Date.now()): EngineStats {
  const partitions: PartitionStats[] = []
  const totals = {
    fetched: 0,
    handled: 0,
    inFlight: 0,
    inFlightBytes: 0,
    slicesInFlight: sources.slicesInFlight,
    failures: 0,
    deadLettered: 0,
    skippedDone: 0,
    commits: sources.commits,
    lag: 0,
  }
  for (const state of states) {
    const line = partitionStats(state, sources.highWatermark(state), now)
    partitions.push(line)
    totals.fetched += line.fetched
    totals.handled += line.handled
    totals.inFlight += line.inFlight
    totals.inFlightBytes += state.bytes
    totals.failures += line.failures
    totals.deadLettered += line.deadLettered
    totals.skippedDone += line.skippedDone
    totals.lag += line.lag ?? 0
  }
  partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  return { partitions, totals, generation: sources.generation }
}
