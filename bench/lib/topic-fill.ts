/**
 * Fresh benchmark topics: each run gets its own topic, prefilled into partition 0 with
 * small JSON values over many keys, and checked to be whole (the embedded cluster keeps
 * only 5 MiB / 100,000 messages per partition and silently drops older ones).
 */
import Kafka from 'node-rdkafka'
import { produceMessages } from '../../src/kafka/produce.js'

/** Distinct keys per topic. */
export const KEYS = 2000
/** JSON value size in bytes: `{"id":…,"key":"key-…","pad":"…"}`. */
export const VALUE_BYTES = 80
/** The most messages a prefill may hold: well inside the embedded cluster's per-partition limits. */
export const MAX_PREFILL = 40_000

let sequence = 0

/** A topic and group name no earlier run in this process used. */
export function freshNames(label: string): { topic: string; groupId: string } {
  const id = `${label}-${process.pid}-${Date.now().toString(36)}-${sequence++}`
  return { topic: `bench-${id}`, groupId: `bench-group-${id}` }
}

export async function prefillTopic(bootstrapServers: string, topic: string, count: number): Promise<void> {
  if (count > MAX_PREFILL) throw new Error(`prefill of ${count} exceeds ${MAX_PREFILL}, the embedded cluster would drop messages`)
  await produceMessages({ bootstrapServers, topic, count, keys: KEYS, size: VALUE_BYTES, partition: 0, json: true })
  const { lowOffset, highOffset } = await watermarks(bootstrapServers, topic, 0)
  if (lowOffset !== 0 || highOffset !== count) {
    throw new Error(`${topic}[0] holds offsets ${lowOffset}..${highOffset}, expected 0..${count}: the cluster dropped messages`)
  }
}

async function watermarks(bootstrapServers: string, topic: string, partition: number): Promise<Kafka.WatermarkOffsets> {
  const client = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, 'log_level': 3 })
  client.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => {
    client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve()))
  })
  try {
    return await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => {
      client.queryWatermarkOffsets(topic, partition, 5_000, (err, offsets) => (err ? reject(err) : resolve(offsets)))
    })
  } finally {
    await new Promise<void>((resolve) => client.disconnect(() => resolve()))
  }
}
