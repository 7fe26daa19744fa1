/**
 * Latency under load: a producer streams at a fixed rate (half of kvp's best `io`
 * throughput) beside kvp consuming with the `io` work, and the handler reports how long
 * each message took from the producer's timestamp to the start of its handling.
 */
import { BroadcastChannel } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { createProducer, type KvpProducer } from '../src/kafka/delivery-producer.js'
import { produceMessages } from '../src/kafka/produce.js'
import { LATENCY_CHANNEL } from './handlers/latency-channel.js'
import { handlerUrl } from './lib/handlers.js'
import { DEFAULT_DISTRIBUTION } from '../src/config/schema.js'
import { startEngine, type Engine } from '../src/index.js'
import { pollHandled } from './lib/poll-handled.js'
import { packageRoot } from './lib/paths.js'
import { percentiles } from './lib/percentiles.js'
import type { BrokerKind, LatencyResult } from './lib/results.js'
import { createTopic, freshNames, KEYS, prefillTopic, VALUE_BYTES } from './lib/topic-fill.js'
import type { KvpSetup } from './systems/kvp.js'

export interface LatencyOptions {
  bootstrapServers: string
  broker: BrokerKind
  /** Partitions of the topic (a real broker; the embedded cluster streams into partition 0): those of the run the rate came from. */
  partitions: number
  kvp: KvpSetup
  rate: number
  durationMs: number
  warmupMs: number
  onProgress: (elapsedMs: number) => void
}

/** Messages that create the topic and show the group has joined before the stream starts. */
const PRIMER = 100
const TICK_MS = 10
const DRAIN_TIMEOUT_MS = 10_000

export async function measureLatency(options: LatencyOptions): Promise<LatencyResult> {
  const { bootstrapServers, kvp, rate, durationMs, warmupMs } = options
  const { topic, groupId } = freshNames('latency')
  const samples: number[] = []
  const channel = new BroadcastChannel(LATENCY_CHANNEL)
  channel.onmessage = (event) => {
    for (const value of (event as { data: number[] }).data) samples.push(value)
  }
  const result: LatencyResult = {
    kvp,
    partitions: options.partitions,
    targetRate: Math.round(rate),
    producedRate: 0,
    durationMs,
    warmupMs,
    produced: 0,
    handled: 0,
    latencyMs: null,
    error: null,
  }
  let engine: Engine | undefined
  let producer: KvpProducer | undefined
  try {
    if (options.broker === 'mock') {
      await prefillTopic(bootstrapServers, topic, PRIMER)
    } else {
      await createTopic(bootstrapServers, topic, options.partitions, options.broker)
      await produceMessages({ bootstrapServers, topic, count: PRIMER, keys: KEYS, size: VALUE_BYTES, json: true })
    }
    engine = await startEngine({
      brokers: bootstrapServers,
      groupId,
      topics: [{ topic, handler: handlerUrl('latency-io'), virtualPartitions: { lanes: kvp.maxPartitions, distribution: kvp.distribution ?? DEFAULT_DISTRIBUTION } }],
      threads: kvp.threads,
      concurrencyPerThread: kvp.concurrencyPerThread,
      revokeTimeoutMs: 2000,
      // The embedded cluster answers a fetch that finds no new data only after
      // fetch.wait.max.ms, even if data arrives meanwhile (a real broker answers as soon as
      // it does). Caught up with a stream, every fetch finds none: with kvp's default wait
      // (100 ms) this run would measure that quirk, not kvp. 10 ms keeps it small. A real
      // broker runs with kvp's defaults.
      kafka: { 'session.timeout.ms': 6000, ...(options.broker === 'mock' ? { 'fetch.wait.max.ms': 10 } : {}) },
    })
    const joined = engine
    await waitForHandled(joined, PRIMER, 30_000)
    producer = await createProducer(bootstrapServers, { 'linger.ms': 1 })
    const startedAt = Date.now()
    const partition = options.broker === 'mock' || options.partitions === 1 ? 0 : null
    const produced = await stream(producer, topic, partition, rate, durationMs, options.onProgress)
    result.produced = produced
    result.producedRate = Math.round(produced / (durationMs / 1000))
    await waitForHandled(joined, PRIMER + produced, DRAIN_TIMEOUT_MS)
    result.handled = joined.stats().totals.handled - PRIMER
    await sleep(200) // the handler flushes its latencies every 50 ms
    const measured: number[] = []
    for (let i = 0; i + 1 < samples.length; i += 2) {
      if ((samples[i] ?? 0) >= startedAt + warmupMs) measured.push(samples[i + 1] ?? 0)
    }
    result.latencyMs = percentiles(measured)
  } catch (err) {
    result.error = (err instanceof Error ? err.message : String(err)).replaceAll(packageRoot, '.')
  } finally {
    channel.close()
    await producer?.close()
    await engine?.stop()
  }
  return result
}

/** Produces at `rate` msg/s for `durationMs`, timestamping each message now; returns how many. */
async function stream(producer: KvpProducer, topic: string, partition: number | null, rate: number, durationMs: number, onProgress: (ms: number) => void): Promise<number> {
  const pad = 'x'.repeat(VALUE_BYTES)
  const startedAt = performance.now()
  let produced = 0
  for (;;) {
    const elapsed = performance.now() - startedAt
    if (elapsed >= durationMs) return produced
    const due = Math.floor((elapsed / 1000) * rate)
    while (produced < due) {
      const key = `key-${produced % KEYS}`
      const head = `{"id":${produced},"key":"${key}","pad":"`
      const value = Buffer.from(`${head}${pad.slice(0, Math.max(0, VALUE_BYTES - head.length - 2))}"}`)
      producer.client.produce(topic, partition, value, key, Date.now())
      produced++
    }
    onProgress(elapsed)
    await sleep(TICK_MS)
  }
}

async function waitForHandled(engine: Engine, count: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs
  await pollHandled(engine, (handled) => {
    if (handled >= count) return true
    if (performance.now() > deadline) throw new Error(`latency: ${handled} of ${count} messages handled after ${timeoutMs / 1000} s`)
    return false
  })
}
