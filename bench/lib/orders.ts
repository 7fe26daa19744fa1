/** The demo's traffic: JSON orders keyed by order id, written to one partition. */
import { createProducer } from '../../src/kafka/delivery-producer.js'

const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'] as const
const IN_FLIGHT = 5_000

export function orderKey(i: number, keys: number): string {
  return `order-${String(i % keys).padStart(5, '0')}`
}

/** Order event `i`: a small JSON object, ~90 bytes. */
export function orderValue(i: number, keys: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      orderId: orderKey(i, keys),
      event: i < keys ? 'created' : 'updated',
      seq: i,
      amount: Math.round((((i * 7919) % 100_000) / 100) * 100) / 100,
      currency: CURRENCIES[i % CURRENCIES.length],
    }),
  )
}

export async function produceOrders(options: { bootstrapServers: string; topic: string; partition: number; count: number; keys: number; onProgress?: (delivered: number) => void }): Promise<void> {
  const producer = await createProducer(options.bootstrapServers)
  try {
    let pending: Array<Promise<unknown>> = []
    for (let i = 0; i < options.count; i++) {
      pending.push(producer.produce(options.topic, options.partition, orderValue(i, options.keys), orderKey(i, options.keys)))
      if (pending.length === IN_FLIGHT) {
        await Promise.all(pending)
        pending = []
        options.onProgress?.(i + 1)
      }
    }
    await Promise.all(pending)
    options.onProgress?.(options.count)
  } finally {
    await producer.close()
  }
}
