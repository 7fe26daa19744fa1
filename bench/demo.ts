/**
 * `npm start`: what virtual partitions buy, in under a minute. An embedded Kafka cluster,
 * 20,000 orders over 2,000 order ids in ONE partition, a handler that waits 1 ms per
 * order (a payment call), processed first as plain Kafka would (one lane), then split
 * into 64 lanes by order id.
 */
import cliProgress from 'cli-progress'
import type { VirtualPartitionsOptions } from '../src/config/options.js'
import { startMockCluster } from '../src/kafka/mock-cluster.js'
import { formatRate } from './lib/format.js'
import { handlerUrl } from './lib/handlers.js'
import { startEngine } from '../src/index.js'
import { pollHandled } from './lib/poll-handled.js'
import { ThroughputMeter, type Measurement } from './lib/meter.js'
import { produceOrders } from './lib/orders.js'

const ORDERS = 20_000
const ORDER_IDS = 2_000
const TIME_BOX_MS = 8_000
const TOPIC = `demo-orders-${Date.now().toString(36)}`

const bar = new cliProgress.SingleBar(
  {
    format: '{phase} |{bar}| {value}/{total} orders {rate}',
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
  },
  cliProgress.Presets.shades_classic,
)

console.log('kvp demo: one Kafka partition, a handler that takes 1 ms per order.\n')
const cluster = await startMockCluster()
let exitCode = 0
try {
  bar.start(ORDERS, 0, { phase: label('producing orders'), rate: '' })
  await produceOrders({
    bootstrapServers: cluster.bootstrapServers,
    topic: TOPIC,
    partition: 0,
    count: ORDERS,
    keys: ORDER_IDS,
    onProgress: (delivered) => bar.update(delivered),
  })
  bar.stop()
  console.log(`${ORDERS.toLocaleString('en-US')} orders for ${ORDER_IDS.toLocaleString('en-US')} order ids in partition 0 of ${TOPIC}.\n`)

  const plain = await consume('plain Kafka (one lane)', false)
  const virtual = await consume('virtual partitions (64 lanes)', { lanes: 64 })

  const speedup = plain.msgPerSec > 0 ? virtual.msgPerSec / plain.msgPerSec : 0
  console.log('')
  console.log(
    `plain Kafka, one lane:           ${formatRate(plain.msgPerSec).padStart(7)} orders/s${plain.timeBoxed ? ` (stopped after ${TIME_BOX_MS / 1000} s, ${plain.handled.toLocaleString('en-US')} orders)` : ''}`,
  )
  console.log(`virtual partitions, 64 lanes:    ${formatRate(virtual.msgPerSec).padStart(7)} orders/s`)
  console.log(`speed-up:                        ${speedup.toFixed(1).padStart(7)}×`)
  console.log('')
  console.log('Why: a Kafka partition is handled one message at a time, so 1 ms per order caps it near 1,000/s.')
  console.log('Split by order id into 64 lanes, different orders run concurrently; each order id keeps its order')
  console.log('and the committed offset never passes an unfinished order.')
} catch (err) {
  bar.stop()
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`)
  exitCode = 1
} finally {
  await cluster.stop()
}
process.exit(exitCode)

async function consume(phase: string, virtualPartitions: VirtualPartitionsOptions | false): Promise<Measurement> {
  bar.start(ORDERS, 0, { phase: label(`${phase}: joining`), rate: '' })
  let firstAt = 0
  const meter = new ThroughputMeter({
    target: ORDERS,
    timeBoxMs: TIME_BOX_MS,
    onProgress: (handled) => {
      if (handled === 0) return
      firstAt ||= performance.now()
      const seconds = (performance.now() - firstAt) / 1000
      bar.update(handled, { phase: label(phase), rate: seconds > 0.2 ? `| ${formatRate(handled / seconds)} orders/s` : '' })
    },
  })
  const engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId: `demo-${virtualPartitions === false ? 'plain' : 'virtual'}-${Date.now().toString(36)}`,
    topics: [{ topic: TOPIC, handler: handlerUrl('demo-order'), virtualPartitions }],
    threads: 2,
    concurrencyPerThread: 32,
    revokeTimeoutMs: 1000,
    kafka: { 'session.timeout.ms': 6000 },
  })
  try {
    await pollHandled(engine, (handled) => {
      if (meter.observe(handled)) return true
      meter.checkStall(phase)
      return false
    })
    return meter.result()
  } finally {
    bar.stop()
    await engine.stop()
  }
}

function label(text: string): string {
  return text.padEnd(34)
}
