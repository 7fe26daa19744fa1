/** The shape of `engine.stats()`: a snapshot, cheap to take, safe to serialize. */

export interface PartitionStats {
  topic: string
  partition: number
  /** Messages fetched from Kafka for this partition since it was assigned. */
  fetched: number
  /** Messages whose handler finished successfully (or that were dead-lettered). */
  handled: number
  /** Fetched and not yet done: queued in lanes or running in workers. */
  inFlight: number
  /** The next offset that may be committed (lowest not-done offset), or null before the first fetch. */
  watermark: number | null
  /** The last offset committed to Kafka by this engine, or null. */
  committed: number | null
  /** Lanes this partition is split into. */
  lanes: number
  /** Lanes with queued or running messages right now. */
  activeLanes: number
  /** Lanes with a slice running in a worker. */
  busyLanes: number
  /** Lanes with messages waiting for their turn (not running, not retrying). */
  queuedLanes: number
  /** Lanes waiting out a retry backoff or a dead-letter delivery. */
  retryingLanes: number
  /** The partition's high watermark (log end offset) as librdkafka last saw it, or null when not known yet. */
  highWatermark: number | null
  /**
   * Messages behind: high watermark − committed offset (the first fetched offset while
   * nothing is committed yet), or null when either is not known.
   */
  lag: number | null
  /**
   * Age in seconds of the oldest unfinished message (by its Kafka timestamp), 0 when nothing
   * is in flight: how far behind in time this partition's processing is.
   */
  lagSeconds: number
  /** Paused by backpressure. */
  paused: boolean
  /** Handler failures seen (each failed attempt counts). */
  failures: number
  /** Messages sent to the dead-letter topic. */
  deadLettered: number
  /** Offsets librdkafka delivered a second time in this assignment (after a pause), dropped. */
  redelivered: number
  /** Messages fetched again in this assignment that the previous owner had recorded as done (its offset map): not handled again. */
  skippedDone: number
}

export interface EngineStats {
  partitions: PartitionStats[]
  totals: {
    fetched: number
    handled: number
    inFlight: number
    inFlightBytes: number
    slicesInFlight: number
    failures: number
    deadLettered: number
    /** Messages not handled again because a previous owner had recorded them as done. */
    skippedDone: number
    commits: number
    /** Sum of the partitions' lag, in messages. */
    lag: number
  }
  /** Current assignment generation (increments on each rebalance). */
  generation: number
}
