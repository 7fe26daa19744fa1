/**
 * Every compression codec end to end: librdkafka is built with gzip, snappy, lz4 and zstd,
 * and kvp consumes batches written with each, and writes each with its own producer
 * (`ctx.produce` outputs, dead letters, exactly-once outputs). Which codec a batch was
 * stored with is read back from the broker: a reader with `debug=fetch` logs, for each
 * fetched message set it enqueues, the codec it decompressed (`..., zstd)`).
 */
import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import Kafka from 'node-rdkafka'
import { buildInfo, DeadLetterHeaders, REQUIRED_CODECS, startEngine } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { alwaysFails, codecOutputValue } from '../fixtures/codec-producing-handler.js'
import { brokerKind, needsRealBroker, useBroker } from '../helpers/broker.js'
import { clearHandlerEnv, engineOptions, untilHandled } from '../helpers/engine-run.js'
import { assertExactlyOnce, committedOutputs } from '../helpers/exactly-once.js'
import { allMessages, committedOffsets, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler, recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { outputTopics, startProducingEngine } from '../helpers/producing.js'
import type { OutputTopics } from '../helpers/producing.js'
import { readRawTopic } from '../helpers/read-topic.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'

const cluster = useBroker()

type Codec = (typeof REQUIRED_CODECS)[number]
const codecHandler = fileURLToPath(new URL('../fixtures/codec-producing-handler.js', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)
const source = (message: { partition: number; offset: number }): string => `${message.partition}:${message.offset}`
const header = (message: Kafka.Message, name: string): string | undefined => message.headers?.find((h) => name in h)?.[name]?.toString()

/** The enqueue line librdkafka logs per fetched message set (rdkafka_msgset_reader.c), ending in the codec it decompressed. */
const ENQUEUE = /Enqueue (\d+) .*?message\(s\) .* on (\S+) \[(\d+)\] fetch queue \(.*, (\w+)\)$/

/**
 * Reads a topic from the beginning (all 4 partitions) until `count` messages or the timeout,
 * and the codecs its message sets were stored with ('uncompressed' for plain ones).
 */
async function readWithCodecs(
  topic: string,
  count: number,
  isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted',
  timeoutMs = 20_000,
): Promise<{ messages: Kafka.Message[]; codecs: Set<string> }> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': cluster.bootstrapServers, 'group.id': uniqueName('reader'), 'enable.auto.commit': false, 'isolation.level': isolation, debug: 'fetch', log_level: 7 },
    { 'auto.offset.reset': 'earliest' },
  )
  const codecs = new Set<string>()
  consumer.on('event.log', (log: { message: string }) => {
    const match = ENQUEUE.exec(log.message)
    if (match && match[2] === topic && Number(match[1]) > 0) codecs.add(match[4] as string)
  })
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  const messages: Kafka.Message[] = []
  try {
    consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 })))
    const deadline = Date.now() + timeoutMs
    while (messages.length < count && Date.now() < deadline) {
      messages.push(...(await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (err, batch) => (err ? reject(err) : resolve(batch))))))
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
  return { messages, codecs }
}

/** The topic's message sets were stored with `codec` (a set too small to shrink goes uncompressed, as librdkafka sends it). */
function assertStoredWith(codecs: Set<string>, codec: Codec, what: string): void {
  assert.ok(codecs.has(codec), `${what} was stored with ${codec} (seen: ${[...codecs].join(', ') || 'no message sets'})`)
  assert.deepEqual(
    [...codecs].filter((seen) => seen !== codec && seen !== 'uncompressed'),
    [],
    `${what}: no other codec`,
  )
}

/** Starts an engine with the recording handler over `input`, waits for every message, stops, and checks what was handled and committed. */
async function consumeAndCheck(t: TestContext, input: string): Promise<void> {
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  clearHandlerEnv()
  Object.assign(process.env, { KVP_TEST_RECORD: record, KVP_TEST_DELAY_MS: '1' })
  const engine = await startEngine(engineOptions(cluster.bootstrapServers, groupId, { topic: input, handler: recordingHandler, virtualPartitions: { lanes: 16 } }))
  t.after(() => engine.stop())
  const ends = await endOffsets(cluster.bootstrapServers, input)
  await untilHandled(engine, sum(ends), 30_000)
  await engine.stop()
  const records = readRecords(record)
  assert.deepEqual(coverage(records, allMessages(ends)).missing, [], 'every message handled')
  assert.deepEqual(orderViolations(records), [], 'per key, in offset order, one at a time')
  assert.deepEqual(await committedOffsets(cluster.bootstrapServers, groupId, input), ends, 'committed offsets at the end offsets')
}

interface Run extends OutputTopics {
  engine: Engine
}

/** Uncompressed inputs (with fresh output and dead-letter topics), and an engine running `handler` over them with `extra` options (its producer's compression.type). */
async function startProducing(t: TestContext, count: number, handler: string, env: Record<string, string>, extra: Record<string, unknown>): Promise<Run> {
  const names = await outputTopics(cluster.bootstrapServers, { count, keys: 40, size: 200 })
  const engine = await startProducingEngine(cluster.bootstrapServers, names, { handler, env, route: { retry: { maxAttempts: 2, backoffMs: 10, maxBackoffMs: 50 } }, engine: extra })
  t.after(() => engine.stop())
  return { ...names, engine }
}

describe(`compression codecs on ${brokerKind === 'kafka' ? 'Apache Kafka' : 'the embedded cluster'}`, () => {
  test('this build of librdkafka has every required codec: buildInfo().features lists them, and kvp --version prints them with the versions', { timeout: 30_000 }, async () => {
    const { features } = buildInfo()
    for (const codec of REQUIRED_CODECS) assert.ok(features.includes(codec), `builtin.features has ${codec} (features: ${features.join(',')})`)
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/kvp.js', '--version'], { cwd: repoRoot, timeout: 20_000 })
    assert.match(stdout, /^kvp \S+$/m)
    assert.match(stdout, /^node-rdkafka \S+$/m)
    assert.match(stdout, /^librdkafka \S+$/m)
    const line = /^builtin\.features (\S+)$/m.exec(stdout)?.[1]
    assert.ok(line !== undefined, `a builtin.features line:\n${stdout}`)
    assert.match(line, /(^|,)zstd(,|$)/)
    for (const codec of REQUIRED_CODECS) assert.ok(line.split(',').includes(codec), `kvp --version lists ${codec}: ${line}`)
  })

  for (const codec of REQUIRED_CODECS) {
    test(`a topic written with ${codec} is consumed completely: every message handled, per-key order kept, committed offsets at the end offsets`, { timeout: 60_000 }, async (t) => {
      const input = uniqueName(`orders-${codec}`)
      await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: input, count: 400, keys: 40, size: 100, kafka: { 'compression.type': codec, 'linger.ms': 20 } })
      assertStoredWith((await readWithCodecs(input, 400)).codecs, codec, input)
      await consumeAndCheck(t, input)
    })
  }

  test('a topic the broker stores as zstd (compression.type=zstd, written uncompressed) is consumed completely: every message handled, per-key order kept, committed offsets at the end offsets', {
    ...needsRealBroker,
    timeout: 60_000,
  }, async (t) => {
    const input = uniqueName('orders-broker-zstd')
    await ensureTopic(cluster.bootstrapServers, input, { config: { 'compression.type': 'zstd' } })
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic: input, count: 400, keys: 40, size: 100, kafka: { 'compression.type': 'none', 'linger.ms': 20 } })
    assertStoredWith((await readWithCodecs(input, 400)).codecs, 'zstd', input)
    await consumeAndCheck(t, input)
  })

  for (const codec of REQUIRED_CODECS) {
    test(`with producer compression.type=${codec}, ctx.produce() outputs and dead letters arrive intact, stored with ${codec}`, { timeout: 60_000 }, async (t) => {
      const deadEvery = 25
      const run = await startProducing(t, 300, codecHandler, { KVP_TEST_DEAD_EVERY: String(deadEvery) }, { producer: { 'compression.type': codec } })
      const ends = await endOffsets(cluster.bootstrapServers, run.input)
      await untilHandled(run.engine, sum(ends), 30_000)
      await run.engine.stop()
      assert.deepEqual(await committedOffsets(cluster.bootstrapServers, run.groupId, run.input), ends, 'committed offsets at the end offsets')
      const inputs = new Map((await readRawTopic(cluster.bootstrapServers, run.input, sum(ends))).map((message) => [source(message), message]))
      assert.equal(inputs.size, sum(ends))
      const dead = new Set(
        allMessages(ends)
          .filter((message) => alwaysFails(message.offset, deadEvery))
          .map(source),
      )
      assert.ok(dead.size > 0)

      const outputs = await readWithCodecs(run.output, sum(ends) - dead.size)
      const seen = new Map<string, number>()
      const lastByKey = new Map<string, number>()
      for (const output of outputs.messages) {
        const from = header(output, 'kvp-source') ?? ''
        const input = inputs.get(from)
        assert.ok(input, `output ${from} has a source input`)
        assert.ok(!dead.has(from), `no output for the dead-lettered ${from}`)
        assert.equal(output.value?.toString(), codecOutputValue(from), `output ${from} intact`)
        assert.equal(output.key?.toString(), input.key?.toString(), `output ${from} keeps its key`)
        seen.set(from, (seen.get(from) ?? 0) + 1)
        const order = `${output.key?.toString()}@${input.partition}`
        assert.ok((lastByKey.get(order) ?? -1) < input.offset, `per key, outputs follow input order (${order})`)
        lastByKey.set(order, input.offset)
      }
      const missing = [...inputs.keys()].filter((from) => !dead.has(from) && !seen.has(from))
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} inputs that did not fail have no output (the output topic holds ${outputs.messages.length} records)`)
      assert.ok(
        [...seen.values()].every((n) => n === 1),
        'no output twice',
      )
      assertStoredWith(outputs.codecs, codec, 'the output topic')

      const letters = await readWithCodecs(run.deadLetter, dead.size)
      assert.deepEqual(
        letters.messages.map((letter) => `${header(letter, DeadLetterHeaders.partition)}:${header(letter, DeadLetterHeaders.offset)}`).sort(),
        [...dead].sort(),
        'one dead letter per failing input',
      )
      for (const letter of letters.messages) {
        const from = `${header(letter, DeadLetterHeaders.partition)}:${header(letter, DeadLetterHeaders.offset)}`
        const input = inputs.get(from)
        assert.ok(input)
        assert.equal(header(letter, DeadLetterHeaders.topic), run.input)
        assert.equal(header(letter, DeadLetterHeaders.errorCode), 'KVP_HANDLER')
        assert.equal(header(letter, DeadLetterHeaders.attempts), '2')
        assert.match(header(letter, DeadLetterHeaders.errorMessage) ?? '', new RegExp(`always failing ${from}`))
        assert.equal(letter.key?.toString(), input.key?.toString(), `dead letter ${from} keeps its key`)
        assert.ok(letter.value && input.value && letter.value.equals(input.value), `dead letter ${from} keeps its value byte for byte`)
      }
      assertStoredWith(letters.codecs, codec, 'the dead-letter topic')
    })
  }

  test('exactly-once with producer compression.type=zstd: a read_committed reader sees every input’s output exactly once in per-key order, stored with zstd', {
    ...needsRealBroker,
    timeout: 90_000,
  }, async (t) => {
    const run = await startProducing(
      t,
      1000,
      producingHandler,
      { KVP_TEST_FAIL_AFTER_PRODUCE: '7' },
      { exactlyOnce: true, transactionIntervalMs: 200, producer: { 'compression.type': 'zstd' }, kafka: { 'session.timeout.ms': 6000, 'isolation.level': 'read_committed' } },
    )
    const ends = await endOffsets(cluster.bootstrapServers, run.input)
    await waitFor(
      'the committed offsets reach the end',
      async () => (await committedOrZero(cluster.bootstrapServers, run.groupId, run.input)).every((offset, p) => offset >= (ends[p] as number)),
      60_000,
      250,
    )
    await run.engine.stop()
    assert.deepEqual(await committedOffsets(cluster.bootstrapServers, run.groupId, run.input), ends)
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, run.output), ends)
    assertStoredWith((await readWithCodecs(run.output, sum(ends), 'read_committed')).codecs, 'zstd', 'the output topic')
  })
})
