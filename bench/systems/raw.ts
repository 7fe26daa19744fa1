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
  let pending: Promise<unknown[]> | undefined
  try {
    consumer.subscribe([run.topic])
    // Like kvp's poller, the next batch is asked for before this one is counted, so
    // librdkafka fills it on its own thread meanwhile: a ceiling no slower than the systems.
    pending = consumeBatch(consumer, Math.min(BATCH, run.count))
    for (;;) {
      const batch: unknown[] = await pending
      const left: number = run.count - meter.handled - batch.length
      // Never ask for more than remains: a short batch would wait out the consume timeout.
      pending = left > 0 ? consumeBatch(consumer, Math.min(BATCH, left)) : undefined
      if (meter.add(batch.length) || pending === undefined) break
      meter.checkStall('raw')
    }
    return meter.result()
  } finally {
    // A batch asked for after the time box ran out is not counted.
    pending?.catch(() => {})
    await disconnectConsumer(consumer)
  }
}
