/**
 * Exactly-once across a broker restart: the broker stops mid-stream and starts again on
 * the same data folder and port. This file owns its broker (the run's shared one must not
 * go away under other files), so it needs Apache Kafka.
 */
import { strict as assert } from 'node:assert'
import { after, describe, test } from 'node:test'
import { channels, startEngine } from '../../src/index.js'
import type { Engine, TransactionEvent } from '../../src/index.js'
import type { ApacheKafka } from '../../tools/apache-kafka/broker.js'
import { needsRealBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs } from '../helpers/exactly-once.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler } from '../helpers/paths.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'

let kafka: ApacheKafka | undefined
let engine: Engine | undefined
after(async () => {
  await engine?.stop().catch(() => {})
  await kafka?.stop()
})

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

describe('exactly-once across a broker restart', { timeout: 170_000, ...needsRealBroker }, () => {
  test('the broker stops mid-stream for 4 s and starts again: a read_committed reader sees each input’s output exactly once, in per-key order, and the committed offsets reach the end', {
    timeout: 160_000,
  }, async () => {
    const { startApacheKafka } = await import('../../tools/apache-kafka/broker.js')
    kafka = await startApacheKafka({ autoCreateTopics: false })
    const bootstrap = kafka.bootstrapServers
    const input = uniqueName('orders')
    const output = uniqueName('orders-enriched')
    const groupId = uniqueName('group')
    const count = 6000
    await ensureTopic(bootstrap, output)
    await produceMessages({ bootstrapServers: bootstrap, topic: input, count, keys: 300, size: 20 })
    const ends = await endOffsets(bootstrap, input)
    process.env.KVP_TEST_OUTPUT = output
    process.env.KVP_TEST_DELAY_MS = '10'
    const outcomes: TransactionEvent[] = []
    const record = (event: unknown): void => {
      outcomes.push(event as TransactionEvent)
    }
    channels.transaction.subscribe(record)
    const t0 = Date.now()
    const trace =
      (name: string) =>
      (event: unknown): void => {
        if (process.env.KVP_TEST_VERBOSE) process.stderr.write(`TRACE ${Date.now() - t0} ${name} ${JSON.stringify(event, (k, v) => (k === 'cause' || k === 'error' ? String(v) : v)).slice(0, 400)}\n`)
      }
    const traced = { rebalance: trace('rebalance'), kafkaError: trace('kafka-error'), transaction: trace('txn'), commitError: trace('commit-error'), handlerError: trace('handler-error') }
    for (const [name, fn] of Object.entries(traced)) channels[name as keyof typeof traced].subscribe(fn as never)
    try {
      engine = await startEngine({
        brokers: bootstrap,
        groupId,
        topics: [{ topic: input, handler: producingHandler, virtualPartitions: { maxPartitions: 8 } }],
        threads: 2,
        backpressure: { maxInFlightPerPartition: 100 },
        exactlyOnce: true,
        transactionIntervalMs: 200,
        kafka: { 'session.timeout.ms': 10_000 },
      })
      await waitFor('a quarter committed', async () => sum(await committedOrZero(bootstrap, groupId, input)) >= count / 4, 60_000, 100)
      trace('halt')({})
      await kafka.halt()
      await new Promise((resolve) => setTimeout(resolve, 4000))
      await kafka.restart()
      trace('restarted')({})
      await waitFor('the committed offsets reach the end', async () => (await committedOrZero(bootstrap, groupId, input)).every((offset, p) => offset >= (ends[p] as number)), 120_000, 250)
      await engine.stop()
      engine = undefined
    } finally {
      channels.transaction.unsubscribe(record)
      delete process.env.KVP_TEST_DELAY_MS
    }
    assert.ok(
      outcomes.some((event) => event.outcome === 'commit'),
      'transactions committed',
    )
    if (process.env.KVP_TEST_VERBOSE)
      for (const event of outcomes) process.stderr.write(`${JSON.stringify(event, (k, v) => (k === 'cause' ? String(v) : v))} ${(event as { error?: Error }).error?.message}\n`)
    assertExactlyOnce(await committedOutputs(bootstrap, output), ends)
  })
})
