import { Kafka as KafkaJs, logLevel } from 'kafkajs'
import { waitFor } from './kafka.js'

/**
 * Commits `offset` with `metadata` for `groupId` on one partition through KafkaJS, a client
 * other than kvp's: a member of the group that commits from inside its first batch of that
 * partition (an admin offset write carries no metadata). The topic must have a message there.
 */
export async function commitWithKafkaJs(bootstrapServers: string, groupId: string, topic: string, partition: number, offset: number, metadata: string): Promise<void> {
  const consumer = new KafkaJs({ brokers: bootstrapServers.split(','), logLevel: logLevel.NOTHING }).consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    let committed = false
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (committed || batch.partition !== partition) return
        // KafkaJS's type omits metadata, which its commit sends.
        await consumer.commitOffsets([{ topic, partition, offset: String(offset), metadata } as never])
        committed = true
      },
    })
    await waitFor('KafkaJS to commit', () => committed, 60_000, 100)
  } finally {
    await consumer.disconnect()
  }
}
