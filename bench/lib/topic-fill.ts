/**
 * Benchmark topics and what they hold: small JSON values over many keys, checked to be
 * whole after producing.
 *
 * - On the embedded cluster every run gets its own fresh topic, prefilled into partition 0
 *   (it keeps only 5 MiB / 100,000 messages per partition and silently drops older ones).
 * - On a real broker one topic per partition count is created with the admin client and
 *   filled once; every run reads it from the beginning with a fresh consumer group, and a
 *   system that drains it too fast grows it (`SharedTopic.grow`).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import Kafka from 'node-rdkafka'
import { produceMessages } from '../../src/kafka/produce.js'
import type { BrokerKind } from './results.js'

/** Distinct keys per topic. */
export const KEYS = 2000
/** JSON value size in bytes: `{"id":…,"key":"key-…","pad":"…"}`. */
export const VALUE_BYTES = 80
/** The most messages a prefill may hold: well inside the embedded cluster's per-partition limits. */
export const MAX_PREFILL = 40_000

/** Producer settings for filling a topic on a real broker: big batches, few requests. */
const FILL_PRODUCER = { 'linger.ms': 20, 'batch.num.messages': 10_000 } as const
const ADMIN_TIMEOUT_MS = 15_000

let sequence = 0
const created: string[] = []

/** Every topic `createTopic` made in this process, oldest first. */
export function createdTopics(): readonly string[] {
  return created
}

/** A topic and group name no earlier run in this process used. */
export function freshNames(label: string): { topic: string; groupId: string } {
  const id = `${label}-${process.pid}-${Date.now().toString(36)}-${sequence++}`
  return { topic: `bench-${id}`, groupId: `bench-group-${id}` }
}

/** The embedded cluster: `count` messages into partition 0 of a fresh, auto-created topic. */
export async function prefillTopic(bootstrapServers: string, topic: string, count: number): Promise<void> {
  if (count > MAX_PREFILL) throw new Error(`prefill of ${count} exceeds ${MAX_PREFILL}, the embedded cluster would drop messages`)
  await produceMessages({ bootstrapServers, topic, count, keys: KEYS, size: VALUE_BYTES, partition: 0, json: true })
  const [offsets] = await watermarks(bootstrapServers, topic, 1)
  if (offsets?.lowOffset !== 0 || offsets.highOffset !== count) {
    throw new Error(`${topic}[0] holds offsets ${offsets?.lowOffset}..${offsets?.highOffset}, expected 0..${count}: the cluster dropped messages`)
  }
}

/**
 * Creates a topic with the admin client (a real broker: the benchmark never relies on
 * auto-creation) and waits until every partition has a leader. Replication factor 1 on
 * the broker the benchmark starts, the cluster's default on an external one.
 */
export async function createTopic(bootstrapServers: string, topic: string, partitions: number, broker: BrokerKind): Promise<void> {
  if (broker === 'mock') throw new Error('the embedded cluster creates its topics itself (4 partitions, on first use)')
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers, 'client.id': 'kvp-bench-admin', log_level: 3 })
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: broker === 'apache-kafka' ? 1 : -1 }, ADMIN_TIMEOUT_MS, (err) =>
        err ? reject(new Error(`could not create topic ${topic} (${partitions} partitions) at ${bootstrapServers}: ${err.message}`)) : resolve(),
      )
    })
  } finally {
    admin.disconnect()
  }
  created.push(topic)
  await waitForLeaders(bootstrapServers, topic, partitions)
}

/** Deletes benchmark topics (best effort: an external cluster should not keep gigabytes of them). */
export async function deleteTopics(bootstrapServers: string, topics: readonly string[]): Promise<void> {
  if (topics.length === 0) return
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers, 'client.id': 'kvp-bench-admin', log_level: 3 })
  try {
    await Promise.all(topics.map((topic) => new Promise<void>((resolve) => admin.deleteTopic(topic, ADMIN_TIMEOUT_MS, () => resolve()))))
  } finally {
    admin.disconnect()
  }
}

/**
 * A topic on a real broker that every run of one partition count reads from the
 * beginning, each with its own fresh consumer group.
 */
export class SharedTopic {
  readonly name: string
  readonly partitions: number
  readonly #bootstrapServers: string
  #messages = 0

  private constructor(bootstrapServers: string, name: string, partitions: number) {
    this.#bootstrapServers = bootstrapServers
    this.name = name
    this.partitions = partitions
  }

  /** Creates the topic; `grow` fills it. */
  static async create(bootstrapServers: string, partitions: number, broker: BrokerKind): Promise<SharedTopic> {
    const { topic } = freshNames(`p${partitions}`)
    await createTopic(bootstrapServers, topic, partitions, broker)
    return new SharedTopic(bootstrapServers, topic, partitions)
  }

  /** Messages the topic holds. */
  get messages(): number {
    return this.#messages
  }

  /**
   * Appends messages until the topic holds `total` (nothing if it already does), spread
   * over the partitions by key, then checks every one arrived.
   */
  async grow(total: number, onProgress?: (delivered: number, count: number) => void): Promise<void> {
    const count = total - this.#messages
    if (count <= 0) return
    await produceMessages({
      bootstrapServers: this.#bootstrapServers,
      topic: this.name,
      count,
      keys: KEYS,
      size: VALUE_BYTES,
      json: true,
      kafka: FILL_PRODUCER,
      ...(onProgress === undefined ? {} : { onProgress }),
    })
    const offsets = await watermarks(this.#bootstrapServers, this.name, this.partitions)
    const held = offsets.reduce((sum, { lowOffset, highOffset }) => sum + highOffset - lowOffset, 0)
    if (held !== total || offsets.some(({ lowOffset }) => lowOffset !== 0)) {
      const ranges = offsets.map(({ lowOffset, highOffset }, p) => `[${p}] ${lowOffset}..${highOffset}`).join(', ')
      throw new Error(`${this.name} holds ${held} messages (${ranges}), expected ${total}`)
    }
    this.#messages = total
  }
}

async function watermarks(bootstrapServers: string, topic: string, partitions: number): Promise<Kafka.WatermarkOffsets[]> {
  const client = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  client.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => {
    client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve()))
  })
  try {
    return await Promise.all(
      Array.from(
        { length: partitions },
        (_, partition) =>
          new Promise<Kafka.WatermarkOffsets>((resolve, reject) => {
            client.queryWatermarkOffsets(topic, partition, 5_000, (err, offsets) => (err ? reject(err) : resolve(offsets)))
          }),
      ),
    )
  } finally {
    await new Promise<void>((resolve) => client.disconnect(() => resolve()))
  }
}

/** Waits until the topic's metadata shows `partitions` partitions, each with a leader. */
async function waitForLeaders(bootstrapServers: string, topic: string, partitions: number): Promise<void> {
  const client = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  client.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    const deadline = Date.now() + ADMIN_TIMEOUT_MS
    for (;;) {
      const metadata = await new Promise<Kafka.Metadata | undefined>((resolve) => {
        client.getMetadata({ topic, timeout: 5_000 }, (err, data) => resolve(err ? undefined : data))
      })
      const found = metadata?.topics.find((entry) => entry.name === topic)
      if (found?.partitions.length === partitions && found.partitions.every((p) => p.leader >= 0)) return
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leaders for its ${partitions} partitions after ${ADMIN_TIMEOUT_MS / 1000} s`)
      await sleep(100)
    }
  } finally {
    await new Promise<void>((resolve) => client.disconnect(() => resolve()))
  }
}
