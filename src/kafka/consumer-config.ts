import type Kafka from 'node-rdkafka'
import type { ResolvedOptions } from '../config/resolve.js'

/** How kvp's consumer fetches; the benchmarks' baselines fetch the same way, so they compare fairly. */
export const FETCH_TUNING = {
  // librdkafka's prefetch (defaults: 100,000 messages, 64 MiB). kvp keeps its own deep
  // queue of fetched messages (backpressure's in-flight limits), so a shallow prefetch
  // costs no throughput and keeps memory flat whatever the backlog.
  'queued.min.messages': 5_000,
  'queued.max.messages.kbytes': 4_096,
  'fetch.wait.max.ms': 100,
  // librdkafka backs off a partition's fetches for this long once its local queue is
  // full (default 1 s): with a consumer that drains the queue in bursts that stalls the
  // stream for a second at a time.
  'fetch.queue.backoff.ms': 10,
  'socket.nagle.disable': true,
} as const

/** How often librdkafka commits the stored watermarks (with their offset maps), unless `auto.commit.interval.ms` says otherwise. */
export const DEFAULT_AUTO_COMMIT_INTERVAL_MS = 1000

/**
 * The consumer's librdkafka settings: librdkafka's own commit pattern (store the
 * watermark, commit stored offsets on an interval) and a prefetch queue sized so memory
 * stays bounded whatever the backlog. User settings come last and win, except the ones kvp
 * owns (resolveOptions() has refused those: ../config/kafka-settings.ts). Commit results
 * arrive as the consumer's 'offset.commit' event.
 */
export function consumerConfig(
  options: ResolvedOptions,
  bootstrapServers: string,
  rebalance: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => void,
): { global: Kafka.ConsumerGlobalConfig; topic: Kafka.ConsumerTopicConfig } {
  const global: Record<string, unknown> = {
    'client.id': 'kvp',
    'auto.commit.interval.ms': DEFAULT_AUTO_COMMIT_INTERVAL_MS,
    ...FETCH_TUNING,
    log_level: 3,
    ...options.kafka,
    'bootstrap.servers': bootstrapServers,
    'group.id': options.groupId,
    // Exactly-once: offsets are committed only inside transactions, and aborted records are never read.
    'enable.auto.commit': options.exactlyOnce === undefined,
    'enable.auto.offset.store': false,
    ...(options.exactlyOnce === undefined ? {} : { 'isolation.level': 'read_committed' }),
    rebalance_cb: rebalance,
    // Commits are reported as the consumer's 'offset.commit' event.
    offset_commit_cb: true,
  }
  const topic: Record<string, unknown> = {
    'auto.offset.reset': options.fromBeginning ? 'earliest' : 'latest',
  }
  if ('auto.offset.reset' in options.kafka) delete topic['auto.offset.reset']
  return { global: global as Kafka.ConsumerGlobalConfig, topic: topic as Kafka.ConsumerTopicConfig }
}
