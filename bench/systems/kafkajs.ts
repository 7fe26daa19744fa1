/** KafkaJS 2.2.4 `eachMessage`: its default of one message at a time per partition. */
import { Kafka, logLevel } from 'kafkajs'
import { handlers } from '../lib/handlers.js'
import { ThroughputMeter, type Measurement } from '../lib/meter.js'
import type { SystemRun } from './system.js'

export async function runKafkaJs(run: SystemRun): Promise<Measurement> {
  const handle = handlers[run.scenario]
  const meter = new ThroughputMeter({ target: run.count, timeBoxMs: run.timeBoxMs, onProgress: run.onProgress })
  const kafka = new Kafka({ clientId: `bench-${run.groupId}`, brokers: run.bootstrapServers.split(','), logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: run.groupId, sessionTimeout: 6000, heartbeatInterval: 1000 })
  let finish!: () => void
  const finished = new Promise<void>((resolve) => {
    finish = resolve
  })
  let done = false
  try {
    await consumer.connect()
    await consumer.subscribe({ topic: run.topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (done) return
        await handle(message)
        if (meter.add(1)) {
          done = true
          finish()
        }
      },
    })
    const stallCheck = setInterval(() => {
      try {
        meter.checkStall('kafkajs')
      } catch {
        done = true
        finish()
      }
    }, 1000)
    await finished
    clearInterval(stallCheck)
    meter.checkStall('kafkajs')
    return meter.result()
  } finally {
    await consumer.disconnect()
  }
}
