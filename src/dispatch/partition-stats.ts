import type { PartitionStats } from '../stats.js'
import type { Lane } from './lane.js'
import type { PartitionState } from './partition-state.js'

/**
 * One partition's line of `engine.stats()`: its counters, what its lanes are doing, and how
 * far behind it is, in messages (against the high watermark, when known) and in seconds
 * (the age of the oldest unfinished message).
 */
export function partitionStats(state: PartitionState, highWatermark: number | undefined, now: number): PartitionStats {
  let busyLanes = 0
  let queuedLanes = 0
  let retryingLanes = 0
  // The oldest unfinished message (the one at the watermark) is the lowest of the lanes' heads.
  let oldestLane: Lane | undefined
  let oldestOffset = -1
  for (const lane of state.lanes) {
    if (!lane) continue
    if (lane.busy) busyLanes++
    else if (lane.waiting) retryingLanes++
    else if (lane.size > 0) queuedLanes++
    else continue
    const head = lane.headOffset()
    if (head >= 0 && (oldestLane === undefined || head < oldestOffset)) {
      oldestLane = lane
      oldestOffset = head
    }
  }
  const base = state.committed ?? state.firstOffset
  const lag = highWatermark === undefined || base === undefined ? null : Math.max(0, highWatermark - base)
  const oldestTimestamp = oldestLane ? oldestLane.headTimestamp() : (state.heldHead()?.timestamp ?? -1)
  const lagSeconds = state.inFlight > 0 && oldestTimestamp > 0 ? Math.max(0, (now - oldestTimestamp) / 1000) : 0
  return {
    topic: state.topic,
    partition: state.partition,
    fetched: state.fetched,
    handled: state.handled,
    inFlight: state.inFlight,
    watermark: state.watermark() ?? null,
    committed: state.committed ?? null,
    lanes: state.lanes.length,
    activeLanes: busyLanes + queuedLanes + retryingLanes,
    busyLanes,
    queuedLanes,
    retryingLanes,
    highWatermark: highWatermark ?? null,
    lag,
    lagSeconds: Math.round(lagSeconds * 1000) / 1000,
    paused: state.paused,
    failures: state.failures,
    deadLettered: state.deadLettered,
    redelivered: state.redelivered,
    skippedDone: state.skippedDone,
  }
}
