import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type { Engine } from '../../src/index.js'
import { DeadLetterHeaders } from '../../src/kafka/dead-letter.js'
import { brokerKind, needsRealBroker, useBroker } from '../helpers/broker.js'
import { untilHandled } from '../helpers/engine-run.js'
import { committedOffsets, endOffsets, uniqueName } from '../helpers/kafka.js'
import { outputTopics, startProducingEngine } from '../helpers/producing.js'
import { tempFile } from '../helpers/paths.js'
import type { OutputTopics } from '../helpers/producing.js'
import { readTopic } from '../helpers/read-topic.js'
import type { ReadMessage } from '../helpers/read-topic.js'

const cluster = useBroker()

interface Run extends OutputTopics {
  engine: Engine
}

/** `count` inputs, and an engine with the producing handler (set by `env`) and `extra` options over them. */
async function start(count: number, env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Run> {
  const names = await outputTopics(cluster.bootstrapServers, { count, keys: 50, size: 20 })
  const engine = await startProducingEngine(cluster.bootstrapServers, names, { env, route: { retry: { maxAttempts: 3, backoffMs: 10 } }, engine: extra })
  return { ...names, engine }
}

/** Every record of the output topic (duplicates included). */
async function readOutput(run: Run): Promise<ReadMessage[]> {
  const total = (await endOffsets(cluster.bootstrapServers, run.output)).reduce((a, b) => a + b, 0)
  return readTopic(cluster.bootstrapServers, run.output, total, 30_000)
}

/** Output values (`partition:offset` of the source) with how often each arrived. */
function counts(records: ReadMessage[]): Map<string, number> {
  const seen = new Map<string, number>()
  for (const record of records) seen.set(record.value as string, (seen.get(record.value as string) ?? 0) + 1)
  return seen
}

/** Per key, the source offsets of its outputs must rise within each source partition. */
function orderViolations(records: ReadMessage[]): number {
  const last = new Map<string, number>()
  let violations = 0
  for (const record of records) {
    const [partition, offset] = (record.value as string).split(':').map(Number)
    const id = `${record.key}@${partition}`
    if ((last.get(id) ?? -1) >= (offset as number)) violations++
    last.set(id, offset as number)
  }
  return violations
}

/** Stops the run; its committed offsets are the inputs' end offsets. */
async function stopAtEnd(run: Run): Promise<void> {
  await run.engine.stop()
  assert.deepEqual(await committedOffsets(cluster.bootstrapServers, run.groupId, run.input), await endOffsets(cluster.bootstrapServers, run.input))
}

/** The run's one dead letter: a handler call that failed with KVP_PRODUCE, with a message matching `message`. */
async function produceDeadLetter(run: Run, message: RegExp): Promise<ReadMessage> {
  const dead = await readTopic(cluster.bootstrapServers, run.deadLetter, 1, 20_000)
  assert.equal(dead.length, 1)
  assert.equal(dead[0]?.headers[DeadLetterHeaders.errorCode], 'KVP_PRODUCE')
  assert.match(dead[0]?.headers[DeadLetterHeaders.errorMessage] ?? '', message)
  return dead[0] as ReadMessage
}

describe(`ctx.produce() on ${brokerKind === 'kafka' ? 'Apache Kafka' : 'the embedded cluster'}`, () => {
  test('every input has exactly one output when nothing fails, in per-key order, and the committed offset reaches the end only with its outputs delivered', { timeout: 90_000 }, async () => {
    const run = await start(4000, {})
    await untilHandled(run.engine, 4000)
    await stopAtEnd(run)
    const records = await readOutput(run)
    const seen = counts(records)
    assert.equal(seen.size, 4000)
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'no output twice',
    )
    assert.equal(orderViolations(records), 0)
    assert.ok(
      records.every((r) => r.headers['kvp-source'] === r.value),
      'headers travel with the record',
    )
  })

  test("a handler call that fails after producing has its records discarded: its retry's records are the only ones", { timeout: 90_000 }, async () => {
    const run = await start(2000, { KVP_TEST_FAIL_AFTER_PRODUCE: '7' })
    await untilHandled(run.engine, 2000)
    const failures = run.engine.stats().totals.failures
    await stopAtEnd(run)
    assert.ok(failures > 0, 'some calls failed after producing')
    const records = await readOutput(run)
    const seen = counts(records)
    assert.equal(seen.size, 2000)
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'a failed call produced nothing',
    )
    assert.equal(orderViolations(records), 0)
  })

  test('a worker thread that dies mid-slice loses no output: the messages of its slice that had produced run again, so every input has its output', { timeout: 90_000 }, async () => {
    const run = await start(2000, { KVP_TEST_EXIT_OFFSET: '300', KVP_TEST_EXIT_FILE: tempFile('exited'), KVP_TEST_DELAY_MS: '1' })
    await untilHandled(run.engine, 2000)
    const { failures, deadLettered } = run.engine.stats().totals
    await stopAtEnd(run)
    assert.ok(failures > 0, 'the thread died')
    assert.equal(deadLettered, 0)
    const seen = counts(await readOutput(run))
    const ends = await endOffsets(cluster.bootstrapServers, run.input)
    const missing = ends.flatMap((end, p) => Array.from({ length: end }, (_, offset) => `${p}:${offset}`)).filter((source) => !seen.has(source))
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} inputs committed without their output`)
  })

  test('a record of a bad shape fails its handler call with KVP_PRODUCE naming the field, and the message is dead-lettered with nothing lost', { timeout: 90_000 }, async () => {
    const run = await start(500, { KVP_TEST_BAD_OFFSET: '3' })
    await untilHandled(run.engine, 500)
    await stopAtEnd(run)
    const dead = await produceDeadLetter(run, /record\.topic/)
    assert.equal(dead.headers[DeadLetterHeaders.offset], '3')
    const seen = counts(await readOutput(run))
    assert.equal(seen.size, 499)
    assert.ok(!seen.has('0:3'))
  })

  test('an oversized record fails with KVP_PRODUCE and its message is dead-lettered; every other output is delivered', { timeout: 90_000 }, async () => {
    const run = await start(500, { KVP_TEST_BIG_OFFSET: '5' }, { producer: { 'message.max.bytes': 1_000_000 } })
    await untilHandled(run.engine, 500)
    await stopAtEnd(run)
    await produceDeadLetter(run, /too large|size/i)
    const seen = counts(await readOutput(run))
    assert.equal(seen.size, 499)
  })

  test('a record to a topic that does not exist (auto-create off) fails with KVP_PRODUCE and its message is dead-lettered', { ...needsRealBroker, timeout: 120_000 }, async () => {
    const run = await start(200, { KVP_TEST_LOST_OFFSET: '2', KVP_TEST_LOST_TOPIC: uniqueName('missing') }, { producer: { 'topic.metadata.propagation.max.ms': 1000, 'message.timeout.ms': 5000 } })
    await untilHandled(run.engine, 200, 90_000)
    await stopAtEnd(run)
    await produceDeadLetter(run, /Unknown topic|not delivered/)
    const seen = counts(await readOutput(run))
    assert.equal(seen.size, 199)
  })
})
