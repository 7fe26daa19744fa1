import type Kafka from 'node-rdkafka'
import { channels } from '../diagnostics.js'
import type { PartitionState } from '../dispatch/partition-state.js'

/**
 * Carries the consumer's fetch position over to the offset trackers, for offsets that are
 * never delivered as messages: transaction commit and abort markers, and the records of
 * aborted transactions under read_committed. librdkafka moves a partition's position past
 * them when it serves them inside a consume call, so without this the watermark of a
 * partition whose log ends in a marker stays below the end offset for ever (the group
 * shows lag that no message will ever close).
 *
 * Only called between polls, after a poll that returned nothing and before the next one is
 * asked for: no consume call is in flight then, so the position counts exactly the
 * messages the engine has been handed, all of them registered, and nothing below it can be
 * a message still on its way. (Not on stop: the batch of the last consume call is dropped
 * there, and the position already counts it.) A partition
 * that has delivered nothing in this assignment is left alone: its position may still be
 * the previous assignment's.
 */
export class FetchPositions {
  readonly #consumer: Kafka.KafkaConsumer
  readonly #moved: (state: PartitionState) => void

  constructor(consumer: Kafka.KafkaConsumer, moved: (state: PartitionState) => void) {
    this.#consumer = consumer
    this.#moved = moved
  }

  /** Reads the positions of `states` and advances their trackers; calls `moved` for each watermark that moved. */
  advance(states: readonly PartitionState[]): void {
    // A partition stopped at a batch it could not read: the position is past that batch, the watermark must not be.
    const owned = states.filter((state) => !state.revoked && !state.draining && state.fetched > 0 && state.stoppedAt === undefined)
    if (owned.length === 0) return
    let positions: Kafka.TopicPartitionOffset[]
    try {
      positions = this.#consumer.position(owned.map((state) => ({ topic: state.topic, partition: state.partition })))
    } catch (error) {
      // Not connected (stopping) or the partitions went away: the next call catches up.
      if (channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
      return
    }
    for (const state of owned) {
      const position = positions.find((entry) => entry.topic === state.topic && entry.partition === state.partition)?.offset
      if (position !== undefined && position >= 0 && state.advanceTo(position)) this.#moved(state)
    }
  }
}
