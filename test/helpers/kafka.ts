import { randomUUID } from 'node:crypto'
import Kafka from 'node-rdkafka'

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** The group's committed offsets for partitions 0..partitions-1 of a topic (-1001 when none). */
export async function committedOffsets(bootstrapServers: string, groupId: string, topic: string, partitions = 4): Promise<number[]> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3 }, {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    const toppars = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
    const result = await fetchCommitted(consumer, toppars)
    return Array.from({ length: partitions }, (_, partition) => result.find((entry) => entry.partition === partition)?.offset ?? -1001)
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

/** Coordinator errors a fresh broker answers while its offsets topic is being set up. */
const COORDINATOR_STARTING = new Set([14, 15, 16])

/** OffsetFetch, retried for 10 s while the group's coordinator is loading or moving. */
async function fetchCommitted(consumer: Kafka.KafkaConsumer, toppars: Kafka.TopicPartition[]): Promise<Kafka.TopicPartitionOffset[]> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      return await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => {
        consumer.committed(toppars, 10_000, (err, offsets) => (err ? reject(err) : resolve(offsets)))
      })
    } catch (error) {
      if (!COORDINATOR_STARTING.has((error as { code?: number }).code ?? 0) || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

/**
 * End offset per partition as a read_committed reader knows it: the last stable offset, which
 * is the log's end unless a transaction is open (`stableAndEndOffsets` in ./exactly-once.ts gives both).
 */
export async function endOffsets(bootstrapServers: string, topic: string, partitions = 4): Promise<number[]> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    const ends: number[] = []
    for (let partition = 0; partition < partitions; partition++) {
      ends.push(
        await new Promise<number>((resolve, reject) => {
          producer.queryWatermarkOffsets(topic, partition, 10_000, (err, offsets) => (err ? reject(err) : resolve(offsets.highOffset)))
        }),
      )
    }
    return ends
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  }
}

/** Every (partition, offset) below the end offsets. */
export function allMessages(ends: number[]): Array<{ partition: number; offset: number }> {
  const all: Array<{ partition: number; offset: number }> = []
  ends.forEach((end, partition) => {
    for (let offset = 0; offset < end; offset++) all.push({ partition, offset })
  })
  return all
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Committed offsets with "nothing committed" shown as 0, which is where an empty partition's end is. */
export async function committedOrZero(bootstrapServers: string, groupId: string, topic: string, partitions = 4): Promise<number[]> {
  return (await committedOffsets(bootstrapServers, groupId, topic, partitions)).map((offset) => Math.max(offset, 0))
}
