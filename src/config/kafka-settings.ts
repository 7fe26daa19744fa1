/**
 * Checks of the librdkafka settings a user passes through (`kafka`, `producer`): keys kvp
 * owns, and keys the chosen group protocol does not allow. resolveOptions() runs them once,
 * before any client is made; each throws a ConfigError naming the key.
 */
import { ConfigError } from '../errors.js'

/** Consumer settings kvp owns: changing them would break its guarantees. */
const CONSUMER_OWNED = new Map<string, string>([
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

/** Settings kvp owns on the engine's producer. */
const PRODUCER_OWNED = new Map<string, string>([
  ['enable.idempotence', 'kvp keeps idempotence on so retries neither duplicate nor reorder records'],
  ['bootstrap.servers', 'use the brokers option'],
  ['metadata.broker.list', 'use the brokers option'],
  ['dr_cb', 'kvp needs every delivery report'],
  ['transactional.id', 'use the transactionalId option (with exactlyOnce)'],
])

/** Checks the user's consumer settings (the `kafka` option): keys kvp owns, and keys the group protocol moves to the broker. */
export function checkConsumerSettings(kafka: Record<string, unknown>): void {
  for (const key of Object.keys(kafka)) {
    const why = CONSUMER_OWNED.get(key)
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

/** Checks the user's settings of the engine's producer (the `producer` option): keys kvp owns. */
export function checkProducerSettings(producer: Record<string, unknown>): void {
  for (const key of Object.keys(producer)) {
    const why = PRODUCER_OWNED.get(key)
    if (why) throw new ConfigError(`producer.${key}`, `cannot be set: ${why}`)
  }
}
