/**
 * Consume → produce benchmark: io 1 ms per message, consume-only against one output record
 * per input, at least once and exactly once (at three transaction intervals), in the same
 * run on the same broker. An exactly-once run ends when its last transaction committed.
 *
 *   npm run bench:produce -- --brokers kafka [--count 40000] [--linger 5]
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Kafka from 'node-rdkafka'
import { channels, startEngine } from '../src/index.js'
import type { TransactionEvent } from '../src/index.js'
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
    const modes: Array<{ name: string; produce: boolean; intervalMs?: number }> = [
      { name: 'consume only', produce: false },
      { name: 'at-least-once produce', produce: true },
      ...[100, 500, 2000].map((intervalMs) => ({ name: `exactly-once, ${intervalMs} ms transactions`, produce: true, intervalMs })),
    ]
    for (const mode of modes) {
      const output = `bench-produce-out-${stamp}-${rows.length}`
      if (real) await createTopic(broker.bootstrapServers, output, 4)
      process.env.KVP_BENCH_OUTPUT = output
      const closes: number[] = []
      const onTransaction = (event: unknown): void => {
        const e = event as TransactionEvent
        if (e.outcome === 'commit') closes.push(e.durationMs)
      }
      channels.transaction.subscribe(onTransaction)
      const started = performance.now()
      const engine = await startEngine({
        brokers: broker.bootstrapServers,
        groupId: `bench-produce-${stamp}-${rows.length}`,
        topics: [{ topic: input, handler: handler(mode.produce ? 'io-produce' : 'io') }],
        threads: 2,
        producer: { 'linger.ms': Number(values.linger) },
        ...(mode.intervalMs === undefined ? {} : { exactlyOnce: true, transactionIntervalMs: mode.intervalMs }),
      })
      // Exactly-once: done once the last transaction committed (its records visible to read_committed readers).
      const committed = (): boolean => engine.stats().partitions.every((p) => p.watermark === null || p.committed === p.watermark)
      while (engine.stats().totals.handled < count) await new Promise((resolve) => setTimeout(resolve, 20))
      while (mode.intervalMs !== undefined && !committed()) await new Promise((resolve) => setTimeout(resolve, 5))
      const seconds = (performance.now() - started) / 1000
      await engine.stop()
      channels.transaction.unsubscribe(onTransaction)
      const rate = Math.round(count / seconds)
      if (mode.name === 'consume only') baseline = rate
      closes.sort((a, b) => a - b)
      const pick = (q: number): string => (closes.length === 0 ? '–' : `${closes[Math.min(closes.length - 1, Math.floor(q * closes.length))]} ms`)
      // An output becomes visible when its transaction commits: at most one interval plus one close after it was produced.
      const visible = mode.intervalMs === undefined ? 'on delivery' : `≤ ${mode.intervalMs} ms + close`
      rows.push(`| ${mode.name} | ${rate.toLocaleString('en-US')} | ${((rate / baseline) * 100).toFixed(0)}% | ${closes.length || '–'} | ${pick(0.5)} | ${pick(0.99)} | ${visible} |`)
    }
    process.stdout.write(
      `io 1 ms, ${count} messages, ${broker.info.kind}, linger.ms ${values.linger}\n\n| mode | msg/s | of consume-only | transactions | close p50 | close p99 | output visible |\n|---|---:|---:|---:|---:|---:|---|\n${rows.join('\n')}\n`,
    )
  } finally {
    await broker.stop()
  }
}

await main()
