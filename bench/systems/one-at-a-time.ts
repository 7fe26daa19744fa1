/**
 * Kafka's default scaling: one consumer for the partition, handling its messages one
 * after another, each awaited before the next starts (node-rdkafka, batches fetched in
 * the background).
 */
import { handlers } from '../lib/handlers.js'
import { ThroughputMeter, type Measurement } from '../lib/meter.js'
import { connectConsumer, consumeBatch, disconnectConsumer } from '../lib/rdkafka-consumer.js'
import type { SystemRun } from './system.js'

const BATCH = 100

export async function runOneAtATime(run: SystemRun): Promise<Measurement> {
  const handle = handlers[run.scenario]
  const meter = new ThroughputMeter({ target: run.count, timeBoxMs: run.timeBoxMs, onProgress: run.onProgress })
  const consumer = await connectConsumer(run.bootstrapServers, run.groupId)
  try {
    consumer.subscribe([run.topic])
    let done = false
    while (!done) {
      const batch = await consumeBatch(consumer, Math.min(BATCH, run.count - meter.handled))
      for (const message of batch) {
        await handle(message)
        done = meter.add(1)
        if (done) break
      }
      if (batch.length === 0) meter.checkStall('one-at-a-time')
    }
    return meter.result()
  } finally {
    await disconnectConsumer(consumer)
  }
}
