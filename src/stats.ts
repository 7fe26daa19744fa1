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
  /** Paused by backpressure. */
  paused: boolean
  /** Handler failures seen (each failed attempt counts). */
  failures: number
  /** Messages sent to the dead-letter topic. */
  deadLettered: number
  /** Offsets librdkafka delivered a second time in this assignment (after a pause), dropped. */
  redelivered: number
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
    commits: number
  }
  /** Current assignment generation (increments on each rebalance). */
  generation: number
}
