import Kafka from 'node-rdkafka'
import type { KafkaSettings } from '../config/options.js'
import { KafkaError, UnknownTopicError } from '../errors.js'
import { fromCallback, type RdkafkaCallback } from './rdkafka-callback.js'

/** One partition of a group, as `kafka-consumer-groups --describe` shows it. */
export interface PartitionLag {
  topic: string
  partition: number
  /** The group's committed offset, or null when it has none for this partition. */
  committed: number | null
  /** The log start and end (high watermark). */
  lowWatermark: number
  highWatermark: number
  /** high watermark − committed (− log start when nothing is committed), in messages. */
  lag: number
}

export interface GroupLagOptions {
  bootstrapServers: string
  groupId: string
  /** Only these topics (one the cluster lacks rejects with an UnknownTopicError); without them every topic the group has committed offsets for. */
  topics?: string[]
  timeoutMs?: number
  kafka?: KafkaSettings
}

const call = <T>(what: string, run: (cb: RdkafkaCallback<T>) => void): Promise<T> => fromCallback(run, (err) => new KafkaError(`${what}: ${err.message}`, { cause: err }))

/**
 * A group's committed offsets, high watermarks and lag per partition, read **without
 * joining the group**: a consumer with the group's id that never subscribes may still ask
 * the coordinator for committed offsets (OffsetFetch), the cluster for metadata, and each
 * leader for its watermarks (ListOffsets). node-rdkafka 3.6's AdminClient has no offset
 * listing, so this is the way to it. The group's members are not disturbed.
 */
export async function readGroupLag(options: GroupLagOptions): Promise<PartitionLag[]> {
  const timeout = options.timeoutMs ?? 10_000
  const consumer = new Kafka.KafkaConsumer({ log_level: 3, ...options.kafka, 'bootstrap.servers': options.bootstrapServers, 'group.id': options.groupId, 'enable.auto.commit': false }, {})
  consumer.on('event.error', () => {})
  await call<unknown>(`could not connect to ${options.bootstrapServers}`, (cb) => consumer.connect({ timeout }, (err, data) => cb(err, data)))
  try {
    const metadata = await call<Kafka.Metadata>('could not read the cluster metadata', (cb) => consumer.getMetadata({ timeout }, cb))
    const wanted = options.topics === undefined ? undefined : new Set(options.topics)
    const toppars: Kafka.TopicPartition[] = []
    for (const topic of metadata.topics) {
      if (wanted ? !wanted.has(topic.name) : topic.name.startsWith('__')) continue
      for (const p of topic.partitions) toppars.push({ topic: topic.name, partition: p.id })
    }
    if (wanted) {
      const known = new Set(metadata.topics.map((t) => t.name))
      const missing = [...wanted].filter((t) => !known.has(t))
      if (missing.length > 0) throw new UnknownTopicError(`no topic named ${missing.map((t) => `'${t}'`).join(', ')} on ${options.bootstrapServers}`)
    }
    if (toppars.length === 0) return []
    const committed = await call<Kafka.TopicPartitionOffset[]>(`could not read the committed offsets of group '${options.groupId}'`, (cb) => consumer.committed(toppars, timeout, cb))
    const byKey = new Map<string, number>()
    for (const entry of committed) if (entry.offset >= 0) byKey.set(`${entry.topic}\u0000${entry.partition}`, entry.offset)
    const rows: PartitionLag[] = []
    for (const { topic, partition } of toppars) {
      const offset = byKey.get(`${topic}\u0000${partition}`)
      // Without topics asked for, only what the group has committed (as kafka-consumer-groups shows).
      if (offset === undefined && !wanted) continue
      const marks = await call<Kafka.WatermarkOffsets>(`could not read the watermarks of ${topic}[${partition}]`, (cb) => consumer.queryWatermarkOffsets(topic, partition, timeout, cb))
      const base = offset ?? marks.lowOffset
      rows.push({ topic, partition, committed: offset ?? null, lowWatermark: marks.lowOffset, highWatermark: marks.highOffset, lag: Math.max(0, marks.highOffset - base) })
    }
    rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    return rows
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}
