/**
 * Consume → produce benchmark: io 1 ms per message, consume-only against one output record
 * per input (at least once), in the same run on the same broker.
 *
 *   npm run bench:produce -- --brokers kafka [--count 40000] [--linger 5]
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Kafka from 'node-rdkafka'
import { startEngine } from '../src/index.js'
import { produceMessages } from '../src/kafka/produce.js'
import { openBroker } from './lib/broker.js'
import { parseBrokers } from './lib/cli-args.js'

const handler = (name: string): string => fileURLToPath(new URL(`./handlers/${name}.js`, import.meta.url))

async function createTopic(bootstrapServers: string, topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  try {
    await new Promise<void>((resolve, reject) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 15_000, (err) => (err ? reject(err) : resolve())))
  } finally {
    admin.disconnect()
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { brokers: { type: 'string', default: 'mock' }, count: { type: 'string', default: '40000' }, linger: { type: 'string', default: '5' } } })
  const count = Number(values.count)
  const broker = await openBroker(parseBrokers(values.brokers), (line) => process.stderr.write(`${line}\n`))
  const stamp = `${process.pid}-${Date.now().toString(36)}`
  const input = `bench-produce-in-${stamp}`
  try {
    const real = broker.info.kind !== 'mock'
    if (real) await createTopic(broker.bootstrapServers, input, 4)
    await produceMessages({ bootstrapServers: broker.bootstrapServers, topic: input, count, keys: 2000, size: 80, ...(real ? {} : { partition: 0 }) })
    const rows: string[] = []
    let baseline = 0
    for (const mode of ['consume only', 'at-least-once produce'] as const) {
      const output = `bench-produce-out-${stamp}-${rows.length}`
      if (real) await createTopic(broker.bootstrapServers, output, 4)
      process.env.KVP_BENCH_OUTPUT = output
      const started = performance.now()
      const engine = await startEngine({
        brokers: broker.bootstrapServers,
        groupId: `bench-produce-${stamp}-${rows.length}`,
        topics: [{ topic: input, handler: handler(mode === 'consume only' ? 'io' : 'io-produce') }],
        threads: 2,
        producer: { 'linger.ms': Number(values.linger) },
      })
      while (engine.stats().totals.handled < count) await new Promise((resolve) => setTimeout(resolve, 20))
      const seconds = (performance.now() - started) / 1000
      await engine.stop()
      const rate = Math.round(count / seconds)
      if (mode === 'consume only') baseline = rate
      rows.push(`| ${mode} | ${rate.toLocaleString('en-US')} | ${((rate / baseline) * 100).toFixed(0)}% |`)
    }
    process.stdout.write(`io 1 ms, ${count} messages, ${broker.info.kind}, linger.ms ${values.linger}\n\n| mode | msg/s | of consume-only |\n|---|---:|---:|\n${rows.join('\n')}\n`)
  } finally {
    await broker.stop()
  }
}

await main()
