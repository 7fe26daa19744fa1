import type Kafka from 'node-rdkafka'
import type { ResolvedOptions } from '../config/resolve.js'
import { ConfigError } from '../errors.js'

/** Settings kvp owns: changing them would break its guarantees. */
const OWNED = new Map<string, string>([
  ['group.id', 'use the groupId option'],
  ['bootstrap.servers', 'use the brokers option'],
  ['metadata.broker.list', 'use the brokers option'],
  ['enable.auto.offset.store', 'kvp stores only the contiguous watermark; it must stay false'],
  ['enable.auto.commit', "kvp commits stored watermarks on librdkafka's interval; it must stay true (tune auto.commit.interval.ms instead)"],
  ['rebalance_cb', 'kvp handles rebalances itself'],
  ['offset_commit_cb', 'kvp observes commits itself'],
])

/**
 * Settings the next-generation group protocol (KIP-848, `group.protocol=consumer`) moves
 * to the broker: librdkafka refuses to create a consumer that sets them.
 */
const BROKER_SIDE_WITH_CONSUMER_PROTOCOL = new Map<string, string>([
  ['session.timeout.ms', "the session timeout is the broker's group.consumer.session.timeout.ms"],
  ['heartbeat.interval.ms', "the heartbeat interval is the broker's group.consumer.heartbeat.interval.ms"],
  ['partition.assignment.strategy', 'the broker assigns partitions (its group.consumer.assignors; the client may pick one with group.remote.assignor)'],
  ['group.protocol.type', 'it belongs to the classic protocol only'],
])

/**
 * Checks user librdkafka consumer settings before anything starts: keys kvp owns, and keys
 * the chosen group protocol does not allow. Throws a ConfigError naming the key.
 */
export function checkConsumerSettings(kafka: Record<string, unknown>): void {
  for (const key of Object.keys(kafka)) {
    const why = OWNED.get(key)
    if (why) throw new ConfigError(`kafka.${key}`, `cannot be set: ${why}`)
  }
  const protocol = kafka['group.protocol']
  if (protocol === undefined || protocol === 'classic') return
  if (protocol !== 'consumer') throw new ConfigError('kafka.group.protocol', `expected 'classic' or 'consumer', got ${JSON.stringify(protocol)}`)
  for (const key of Object.keys(kafka)) {
    const why = BROKER_SIDE_WITH_CONSUMER_PROTOCOL.get(key)
    if (why) throw new ConfigError(`kafka.${key}`, `cannot be set with group.protocol=consumer (KIP-848): ${why}; remove it, or use group.protocol=classic`)
  }
}

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

/**
 * The consumer's librdkafka settings: librdkafka's own commit pattern (store the
 * watermark, commit stored offsets on an interval) and a prefetch queue sized so memory
 * stays bounded whatever the backlog. User settings come last and win, except the owned
 * ones above. Commit results arrive as the consumer's 'offset.commit' event.
 */
export function consumerConfig(
  options: ResolvedOptions,
  bootstrapServers: string,
  rebalance: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => void,
): { global: Kafka.ConsumerGlobalConfig; topic: Kafka.ConsumerTopicConfig } {
  checkConsumerSettings(options.kafka)
  const global: Record<string, unknown> = {
    'client.id': 'kvp',
    'auto.commit.interval.ms': 1000,
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
