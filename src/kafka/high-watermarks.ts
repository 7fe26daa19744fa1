import type Kafka from 'node-rdkafka'

/** A paused or not-yet-fetched partition's high watermark is asked of its leader at most this often. */
const QUERY_INTERVAL_MS = 5000
const QUERY_TIMEOUT_MS = 5000

interface Entry {
  queried: number | undefined
  queriedAt: number
  inFlight: boolean
}

/**
 * The high watermark (log end offset) of each partition, for lag. librdkafka already has it:
 * every fetch response carries it and `getWatermarkOffsets()` reads that cached value with no
 * request. A partition that is not being fetched (paused by backpressure, or assigned and not
 * fetched yet) has a stale or no cached value, so for those a `queryWatermarkOffsets` (one
 * ListOffsets request) is started when the value is read, at most every 5 s per partition;
 * the read returns the freshest value known. Nothing here runs per message, or at all unless
 * someone reads stats.
 */
export class HighWatermarks {
  readonly #consumer: Kafka.KafkaConsumer
  readonly #entries = new Map<string, Entry>()

  constructor(consumer: Kafka.KafkaConsumer) {
    this.#consumer = consumer
  }

  /** The best known high watermark of `topic`[`partition`], or undefined. `fetching` is false while it is paused. */
  read(topic: string, partition: number, fetching: boolean): number | undefined {
    const key = `${topic}\u0000${partition}`
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      entry = { queried: undefined, queriedAt: 0, inFlight: false }
      this.#entries.set(key, entry)
    }
    let cached: number | undefined
    try {
      const offsets = this.#consumer.getWatermarkOffsets(topic, partition)
      if (offsets.highOffset >= 0) cached = offsets.highOffset
    } catch {
      // Not known to librdkafka yet (no fetch response so far).
    }
    const now = Date.now()
    if ((!fetching || cached === undefined) && !entry.inFlight && now - entry.queriedAt >= QUERY_INTERVAL_MS && this.#consumer.isConnected()) {
      entry.inFlight = true
      entry.queriedAt = now
      const target = entry
      try {
        this.#consumer.queryWatermarkOffsets(topic, partition, QUERY_TIMEOUT_MS, (err, offsets) => {
          target.inFlight = false
          if (!err && offsets.highOffset >= 0) target.queried = offsets.highOffset
        })
      } catch {
        target.inFlight = false
      }
    }
    if (cached === undefined) return entry.queried
    return entry.queried === undefined ? cached : Math.max(cached, entry.queried)
  }
}
