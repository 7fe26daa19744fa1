/**
 * The ceiling: node-rdkafka `consume(n)` in a loop, counting messages, no handler. No
 * system that consumes through node-rdkafka on one thread can go faster.
 */
import { ThroughputMeter, type Measurement } from '../lib/meter.js'
import { connectConsumer, consumeBatch, disconnectConsumer } from '../lib/rdkafka-consumer.js'
import type { SystemRun } from './system.js'

const BATCH = 1000

export async function runRaw(run: SystemRun): Promise<Measurement> {
  const meter = new ThroughputMeter({ target: run.count, timeBoxMs: run.timeBoxMs, onProgress: run.onProgress })
  const consumer = await connectConsumer(run.bootstrapServers, run.groupId)
  try {
    consumer.subscribe([run.topic])
    for (;;) {
      // Never ask for more than remains: a short batch would wait out the consume timeout.
      const batch = await consumeBatch(consumer, Math.min(BATCH, run.count - meter.handled))
      if (meter.add(batch.length)) break
      meter.checkStall('raw')
    }
    return meter.result()
  } finally {
    await disconnectConsumer(consumer)
  }
}
