/**
 * Writes that fail in their delivery report, not at produce() time: the engine's producer
 * had WRITE on a topic and loses it while it runs (an ACL deleted on the Apache Kafka tier's
 * SASL_SSL listener), so the broker refuses its produce requests and librdkafka fails each
 * record in its delivery report (topic authorization failed). What the engine promises then:
 * the failed write is retried and the offset of its source message is held below it until
 * the write lands; under exactly-once the transaction aborts and its partitions rewind, and
 * a read_committed reader never sees what the aborted transactions wrote.
 */
import { strict as assert } from 'node:assert'
import { test, type TestContext } from 'node:test'
import { channels, ErrorCodes, startEngine } from '../../src/index.js'
import type { Engine, HandlerErrorEvent } from '../../src/index.js'
import { deleteAcls, grantAcls, type AclSpec } from '../helpers/acls.js'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { collectEvents } from '../helpers/events.js'
import { assertExactlyOnce, committedOutputs } from '../helpers/exactly-once.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { mirroringHandler, producingHandler, recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { readPartition, readRawTopic } from '../helpers/read-topic.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'
import { consumerAcls, grantForTest, saslSslSettings, securityOf, transactionalIdAcls, writerAcls } from '../helpers/secured.js'

const broker = useBroker()

/** The engine's principal on the SASL_SSL listener. */
const APP = 'User:app'

/** Sets environment variables for the handler's worker threads until the test ends. */
function handlerEnv(t: TestContext, env: Record<string, string>): void {
  Object.assign(process.env, env)
  t.after(() => {
    for (const name of Object.keys(env)) delete process.env[name]
  })
}

/** Takes WRITE on `topic` away from the engine's principal (resolves once the broker enforces it). */
function revokeWrite(topic: string): Promise<void> {
  return deleteAcls(broker.bootstrapServers, [writeAcl(topic)])
}

function restoreWrite(topic: string): Promise<void> {
  return grantAcls(broker.bootstrapServers, [writeAcl(topic)])
}

function writeAcl(topic: string): AclSpec {
  return { principal: APP, resourceType: 'TOPIC', name: topic, operation: 'WRITE' }
}

/** The engine, as `app` over SASL_SSL. */
async function startAsApp(t: TestContext, options: Omit<Parameters<typeof startEngine>[0], 'brokers' | 'kafka'>): Promise<Engine> {
  const security = securityOf(broker)
  const engine = await startEngine({ ...options, brokers: security.saslSsl, kafka: saslSslSettings(security, security.users.app) })
  t.after(() => engine.stop())
  return engine
}

/** The group's committed offset of partition 0 of `topic`, read from the broker. */
async function committedAt0(topic: string, group: string): Promise<number> {
  return (await committedOrZero(broker.bootstrapServers, group, topic, 1))[0] as number
}

/** Failed attempts of one message, each refused in a delivery report, as the engine published them. */
function refusedAttempts(errors: readonly HandlerErrorEvent[], code: string, offset?: number): HandlerErrorEvent[] {
  return errors.filter((e) => e.error.code === code && /was not delivered: .*authorization/i.test(e.error.message) && (offset === undefined || e.offset === offset))
}

test('a dead letter the shared producer cannot deliver is retried, the commit stops below its message, and it lands once WRITE is back', {
  ...needsRealBroker,
  timeout: 150_000,
}, async (t) => {
  const topic = uniqueName('dr-dlq-in')
  const deadLetters = uniqueName('dr-dlq')
  const group = uniqueName('g')
  await ensureTopic(broker.bootstrapServers, topic)
  await ensureTopic(broker.bootstrapServers, deadLetters)
  await grantForTest(t, broker.bootstrapServers, [...consumerAcls(APP, topic, group), ...writerAcls(APP, deadLetters)])
  const record = tempFile('handled.tsv')
  // Offsets 5 and 25 of partition 0 fail every attempt: each goes to the dead-letter topic.
  handlerEnv(t, { KVP_TEST_RECORD: record, KVP_TEST_FAIL: '5:1000,25:1000' })
  const errors = collectEvents(t, channels.handlerError)
  // No `kafka` of the dead letter's own: it goes through the engine's shared producer.
  const engine = await startAsApp(t, {
    groupId: group,
    topics: [{ topic, handler: recordingHandler, deadLetter: { topic: deadLetters }, retry: { maxAttempts: 1, backoffMs: 100, maxBackoffMs: 400 } }],
    threads: 1,
  })

  // The producer writes a dead letter while it may: offset 5 lands and the commit passes it.
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16, partition: 0 })
  await waitFor('offsets 0-19 committed', async () => (await committedAt0(topic, group)) === 20, 60_000, 200)

  // WRITE goes: the dead letter of offset 25 is refused in its delivery report, again and again.
  await revokeWrite(deadLetters)
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16, partition: 0 })
  await waitFor('the commit to reach the failing dead letter', async () => (await committedAt0(topic, group)) >= 25, 60_000, 200)
  // Two more refused writes after the commit reached it (or a commit past it, which the assertion below reports).
  const before = refusedAttempts(errors, ErrorCodes.DEAD_LETTER, 25).length
  await waitFor('two more refused dead-letter writes', async () => refusedAttempts(errors, ErrorCodes.DEAD_LETTER, 25).length >= before + 2 || (await committedAt0(topic, group)) > 25, 30_000, 200)
  assert.equal(await committedAt0(topic, group), 25, 'nothing at or above the undelivered dead letter is committed')
  assert.ok(
    refusedAttempts(errors, ErrorCodes.DEAD_LETTER, 25).every((e) => e.willRetry),
    'every refused dead letter is retried',
  )
  assert.equal(engine.stats().partitions.find((p) => p.partition === 0)?.watermark, 25)
  const fault = engine.faults().find((f) => f.origin === 'produce')
  assert.equal(fault?.code, ErrorCodes.AUTHORIZATION, `a produce fault while the write is refused: ${JSON.stringify(engine.faults())}`)

  // WRITE is back: the next retry lands, the commit passes the message, the fault ends.
  await restoreWrite(deadLetters)
  await waitFor('every offset committed', async () => (await committedAt0(topic, group)) === 40, 60_000, 200)
  await waitFor('the fault to end', () => engine.faults().length === 0, 30_000)
  await engine.stop()

  const letters = await readRawTopic(broker.bootstrapServers, deadLetters, 2)
  const original = letters.map((m) => Number(m.headers?.find((h) => 'kvp-original-offset' in h)?.['kvp-original-offset']?.toString()))
  assert.deepEqual(
    [...new Set(original)].sort((a, b) => a - b),
    [5, 25],
    'the dead letters are those of offsets 5 and 25, nothing else',
  )
  const records = readRecords(record)
  const expected = Array.from({ length: 40 }, (_, offset) => ({ partition: 0, offset })).filter(({ offset }) => offset !== 5 && offset !== 25)
  assert.deepEqual(coverage(records, expected).missing, [])
  assert.deepEqual(orderViolations(records), [])
})

test('ctx.produce outputs refused in their delivery reports are retried, their inputs stay uncommitted, and every input has its output once WRITE is back', {
  ...needsRealBroker,
  timeout: 150_000,
}, async (t) => {
  const topic = uniqueName('dr-out-in')
  const output = uniqueName('dr-out')
  const group = uniqueName('g')
  await ensureTopic(broker.bootstrapServers, topic)
  await ensureTopic(broker.bootstrapServers, output)
  await grantForTest(t, broker.bootstrapServers, [...consumerAcls(APP, topic, group), ...writerAcls(APP, output)])
  handlerEnv(t, { KVP_TEST_OUTPUT: output })
  const errors = collectEvents(t, channels.handlerError)
  // No dead-letter topic: a message whose outputs fail is retried for ever.
  const engine = await startAsApp(t, { groupId: group, topics: [{ topic, handler: producingHandler, retry: { backoffMs: 100, maxBackoffMs: 400 } }], threads: 1 })

  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16, partition: 0 })
  await waitFor('offsets 0-19 committed', async () => (await committedAt0(topic, group)) === 20, 60_000, 200)

  await revokeWrite(output)
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16, partition: 0 })
  // Each attempt of offset 20 runs the handler again, and its output fails again: in its delivery
  // report, or (once librdkafka knows the topic refuses it) at produce() time.
  await waitFor(
    'offset 20 to fail three attempts on its output (or a commit past it, which the assertion below reports)',
    async () => errors.filter((e) => e.offset === 20).length >= 3 || (await committedAt0(topic, group)) > 20,
    60_000,
    200,
  )
  assert.equal(await committedAt0(topic, group), 20, 'no input whose output failed is committed')
  const failed = errors.filter((e) => e.offset === 20)
  assert.ok(refusedAttempts(errors, ErrorCodes.PRODUCE, 20).length > 0, 'an output of offset 20 was refused in its delivery report')
  assert.deepEqual(
    failed.map((e) => [e.attempt, e.error.code, e.willRetry]),
    failed.map((_, i) => [i + 1, ErrorCodes.PRODUCE, true]),
    'each attempt of offset 20 fails on its output and is retried',
  )
  assert.equal(await committedAt0(topic, group), 20, 'no input whose output failed is committed, however often it fails')
  assert.equal(engine.stats().partitions.find((p) => p.partition === 0)?.watermark, 20)
  assert.equal(engine.faults().find((f) => f.origin === 'produce')?.code, ErrorCodes.AUTHORIZATION, JSON.stringify(engine.faults()))

  await restoreWrite(output)
  await waitFor('every offset committed', async () => (await committedAt0(topic, group)) === 40, 60_000, 200)
  await engine.stop()

  const outputs = await readRawTopic(broker.bootstrapServers, output, 40)
  const sources = new Set(outputs.map((m) => m.value?.toString()))
  const missing = Array.from({ length: 40 }, (_, offset) => `0:${offset}`).filter((source) => !sources.has(source))
  assert.deepEqual(missing, [], 'every input has its output')
})

test('exactly-once: an output refused in its delivery report aborts the transaction, the partitions rewind to the committed offsets, and read_committed sees every output once', {
  ...needsRealBroker,
  timeout: 180_000,
}, async (t) => {
  const topic = uniqueName('dr-eos-in')
  const output = uniqueName('dr-eos-out')
  const mirror = uniqueName('dr-eos-mirror')
  const group = uniqueName('g')
  const transactionalId = uniqueName('kvp-tx')
  for (const name of [topic, output, mirror]) await ensureTopic(broker.bootstrapServers, name)
  await grantForTest(t, broker.bootstrapServers, [...consumerAcls(APP, topic, group), ...writerAcls(APP, output), ...writerAcls(APP, mirror), ...transactionalIdAcls(APP, transactionalId)])
  // Every input writes to `mirror`; partition 0's inputs also write to `output`, 200 ms later. With WRITE gone on
  // `output`, a transaction's mirror records are in the log before partition 0's output dooms it.
  handlerEnv(t, { KVP_TEST_OUTPUT: output, KVP_TEST_MIRROR: mirror, KVP_TEST_DELAY_MS: '200' })
  const transactions = collectEvents(t, channels.transaction)
  const engine = await startAsApp(t, { groupId: group, topics: [{ topic, handler: mirroringHandler }], threads: 2, exactlyOnce: true, transactionalId })

  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 40, keys: 10, size: 16 })
  const firstEnds = await endOffsets(broker.bootstrapServers, topic)
  assert.ok((firstEnds[0] as number) > 0, 'partition 0 has inputs')
  await waitFor('the first inputs committed', async () => sameOffsets(await committedOrZero(broker.bootstrapServers, group, topic), firstEnds), 60_000, 200)

  await revokeWrite(output)
  const aborts = (): number => transactions.filter((e) => e.outcome === 'abort').length
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 40, keys: 10, size: 16 })
  await waitFor('two transactions aborted', () => aborts() >= 2, 90_000)
  // The refusal is a fault too, though every delivery report of an aborted transaction only says "purged".
  await waitFor('an authorization fault', () => engine.faults().some((f) => f.code === ErrorCodes.AUTHORIZATION && f.origin === 'produce'), 30_000)
  const fault = engine.faults().find((f) => f.code === ErrorCodes.AUTHORIZATION)
  process.stdout.write(`# exactly-once, no WRITE on the output: ${fault?.code} ${fault?.topic ?? ''}: ${fault?.cause} (librdkafka: ${fault?.detail})\n`)
  // Each abort rewinds the partitions it fetched to what the group had committed when it aborted.
  const committedBy = new Map<number, number>(firstEnds.map((end, partition) => [partition, end]))
  for (const event of transactions) {
    if (event.outcome === 'commit') for (const { partition, offset } of event.offsets) committedBy.set(partition, offset)
    else {
      assert.match(String((event.error as Error | undefined)?.message), /was not delivered/, 'the transaction aborted on a failed delivery')
      assert.ok(event.rewound.length > 0, 'an abort rewinds the partitions it fetched')
      for (const { partition, offset } of event.rewound) assert.equal(offset, committedBy.get(partition), `partition ${partition} rewinds to its committed offset`)
    }
  }
  assert.equal((await committedOrZero(broker.bootstrapServers, group, topic))[0], firstEnds[0], 'no input whose output failed is committed')
  // The aborted transactions' records are in `mirror`'s log, where read_committed does not see them.
  const written = await readAll(mirror, 'read_uncommitted')
  const visible = await readAll(mirror, 'read_committed')
  assert.ok(written.length > visible.length, `records of aborted transactions are in the log (${written.length} written, ${visible.length} committed)`)

  await restoreWrite(output)
  const ends = await endOffsets(broker.bootstrapServers, topic)
  await waitFor('every input committed', async () => sameOffsets(await committedOrZero(broker.bootstrapServers, group, topic), ends), 90_000, 200)
  await engine.stop()
  assertExactlyOnce(await committedOutputs(broker.bootstrapServers, mirror), ends)
  assertExactlyOnce(await committedOutputs(broker.bootstrapServers, output), [ends[0] as number])
})

function sameOffsets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((offset, i) => offset === b[i])
}

/** The sources (`<partition>:<offset>` values) of every record of the 4 partitions of `topic`, as an isolation level shows them. */
async function readAll(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const sources: string[] = []
  for (let partition = 0; partition < 4; partition++) {
    for (const message of await readPartition(broker.bootstrapServers, topic, partition, { isolation })) sources.push(message.value?.toString() ?? '')
  }
  return sources
}
