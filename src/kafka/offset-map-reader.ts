import type Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import { KnownDone } from '../offsets/known-done.js'
import { decodeOffsetMap } from '../offsets/offset-map.js'

/** How long an assignment waits for the group's committed offsets and their maps before going on without them. */
export const OFFSET_MAP_READ_TIMEOUT_MS = 5000

/** The consumer call this needs (node-rdkafka's `committed`). */
export interface CommittedSource {
  committed(toppars: Kafka.TopicPartition[], timeout: number, cb: (err: Kafka.LibrdKafkaError, offsets: Kafka.TopicPartitionOffsetAndMetadata[]) => void): unknown
}

export const knownDoneKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

/**
 * Reads the committed offsets of newly assigned partitions with their metadata, and keeps the
 * offset maps kvp wrote there (../offsets/offset-map.ts): per partition, the offsets a
 * previous owner recorded as done above the committed one. Metadata that is not a map kvp can
 * prove (another client's, another version, truncated, altered) is reported once on
 * `kvp:offset-map` with the problem and ignored: that partition runs from the committed offset,
 * as it would without a map. A failed or slow read skips nothing either.
 */
export async function readKnownDone(consumer: CommittedSource, partitions: readonly Kafka.TopicPartition[], timeoutMs = OFFSET_MAP_READ_TIMEOUT_MS): Promise<Map<string, KnownDone>> {
  const known = new Map<string, KnownDone>()
  if (partitions.length === 0) return known
  let committed: Kafka.TopicPartitionOffsetAndMetadata[]
  try {
    committed = await new Promise((resolve, reject) => {
      consumer.committed(
        partitions.map(({ topic, partition }) => ({ topic, partition })),
        timeoutMs,
        (err, offsets) => (err ? reject(err) : resolve(offsets)),
      )
    })
  } catch (error) {
    if (channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
    return known
  }
  for (const entry of committed) {
    if (typeof entry.offset !== 'number' || entry.offset < 0 || !entry.metadata) continue
    const { map, problem } = decodeOffsetMap(entry.metadata, entry.offset)
    if (channels.offsetMap.hasSubscribers) {
      channels.offsetMap.publish({ topic: entry.topic, partition: entry.partition, committed: entry.offset, done: map?.done.length ?? 0, ...(problem === undefined ? {} : { problem }) })
    }
    if (map !== undefined && map.done.length > 0) known.set(knownDoneKey(entry.topic, entry.partition), new KnownDone(map))
  }
  return known
}
