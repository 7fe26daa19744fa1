/**
 * kvp on a secured Apache Kafka: a SASL_SSL listener (SCRAM-SHA-512 and PLAIN, a test CA),
 * a mutual-TLS listener and the StandardAuthorizer with ACLs (tools/apache-kafka/security.ts).
 * What works through them (kvp run, startEngine(), ctx.produce, dead letters, exactly-once,
 * kvp lag, kvp produce), and each bad input with the error a user gets for it.
 */
import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { test, type TestContext } from 'node:test'
import { channels, ErrorCodes, isKvpError, readGroupLag, startEngine } from '../../src/index.js'
import type { Engine, KvpError } from '../../src/index.js'
import type { Credentials, SecureListeners } from '../../tools/apache-kafka/security.js'
import type { AclSpec } from '../helpers/acls.js'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { collectEvents } from '../helpers/events.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler, recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, runKvpToEnd, startKvp } from '../helpers/process.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'
import { readTopic } from '../helpers/read-topic.js'
import { consumerAcls, grantForTest, saslSslSettings, securityOf, writerAcls } from '../helpers/secured.js'
import { coverage, orderViolations, readRecords } from '../helpers/records.js'

const broker = useBroker()

function security(): SecureListeners {
  return securityOf(broker)
}

/** librdkafka settings for the SASL_SSL listener as `user`. */
function saslSsl(user: Credentials, options: { mechanism?: string; ca?: string | null } = {}): Record<string, string> {
  return saslSslSettings(security(), user, options)
}

/** ACLs granted for this test. */
function grant(t: TestContext, acls: AclSpec[]): Promise<void> {
  return grantForTest(t, broker.bootstrapServers, acls)
}

/** The committed offset of each partition of `topic` for `group`, read over the open listener. */
async function committed(topic: string, group: string): Promise<Map<number, number>> {
  const rows = await readGroupLag({ bootstrapServers: broker.bootstrapServers, groupId: group, topics: [topic], timeoutMs: 10_000 })
  return new Map(rows.map((row) => [row.partition, row.committed ?? -1]))
}

/** startEngine() that is expected to fail; resolves with the error. */
async function startFails(settings: Record<string, string>, topic: string, brokers = security().saslSsl): Promise<{ error: KvpError; ms: number }> {
  const began = Date.now()
  try {
    const engine = await startEngine({ brokers, groupId: uniqueName('g'), topics: [{ topic, handler: recordingHandler }], threads: 1, kafka: settings })
    await engine.stop()
  } catch (error) {
    assert.ok(isKvpError(error), `a typed error, got ${String(error)}`)
    return { error, ms: Date.now() - began }
  }
  assert.fail('startEngine() resolved with bad settings')
}

/** Settings as KVP_KAFKA_* variables, the password from a file. */
function asEnv(settings: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(settings)) {
    const name = `KVP_KAFKA_${key.split('.').join('_').toUpperCase()}`
    if (key === 'sasl.password') {
      const file = tempFile('password')
      writeFileSync(file, `${value}\n`)
      env[`${name}_FILE`] = file
    } else env[name] = value
  }
  return env
}

test('kvp run consumes and commits through SASL_SSL (SCRAM-SHA-512, password from a file), writing ctx.produce outputs and dead letters; kvp produce and kvp lag work there too', {
  ...needsRealBroker,
  timeout: 120_000,
}, async (t) => {
  const s = security()
  const topic = uniqueName('secure-in')
  const output = uniqueName('secure-out')
  const deadLetters = uniqueName('secure-dlq')
  const group = uniqueName('g')
  for (const name of [topic, output, deadLetters]) await ensureTopic(broker.bootstrapServers, name)
  await grant(t, [
    ...consumerAcls('User:app', topic, group),
    ...writerAcls('User:app', topic),
    ...writerAcls('User:app', output),
    ...writerAcls('User:app', deadLetters),
    { principal: 'User:app', resourceType: 'GROUP', name: group, operation: 'DESCRIBE' },
  ])
  const env = asEnv(saslSsl(s.users.app))
  // kvp produce through the secured listener.
  const produced = await runKvpToEnd(['produce', '--brokers', s.saslSsl, '--topic', topic, '--count', '200', '--keys', '20', '--partition', '0'], env)
  assert.equal(produced.code, 0, produced.output)
  assert.match(produced.output, /produced 200 messages/)
  const proc = await startKvp(
    ['run', '--brokers', s.saslSsl, '--group', group, '--topic', topic, '--handler', producingHandler, '--dead-letter-topic', deadLetters, '--max-attempts', '1', '--stats-interval-ms', '0'],
    { ...env, KVP_TEST_OUTPUT: output, KVP_TEST_POISON_OFFSET: '7' },
    30_000,
  )
  t.after(() => ensureDead(proc))
  await waitFor('every offset committed', async () => (await committed(topic, group)).get(0) === 200, 60_000, 250)
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0, proc.output())
  // One output per input but the poison, whose failed attempts' records are discarded; it went to the dead-letter topic.
  const outputs = await readTopic(broker.bootstrapServers, output, 199)
  const sources = new Set(outputs.map((m) => m.value))
  assert.equal(sources.size, 199)
  assert.ok(!sources.has('0:7'))
  const letters = await readTopic(broker.bootstrapServers, deadLetters, 1)
  assert.equal(letters.length, 1)
  // kvp lag through the secured listener: nothing left.
  const lag = await runKvpToEnd(['lag', '--brokers', s.saslSsl, '--group', group, '--topic', topic, '--json'], env)
  assert.equal(lag.code, 0, lag.output)
  assert.equal((JSON.parse(lag.output) as { totalLag: number }).totalLag, 0)
})

test('startEngine() consumes through SASL_SSL with SASL/PLAIN, and exactly-once commits its outputs there', { ...needsRealBroker, timeout: 120_000 }, async (t) => {
  const s = security()
  const topic = uniqueName('secure-eos-in')
  const output = uniqueName('secure-eos-out')
  const group = uniqueName('g')
  for (const name of [topic, output]) await ensureTopic(broker.bootstrapServers, name)
  const transactionalId = uniqueName('kvp-tx')
  await grant(t, [
    ...consumerAcls('User:app', topic, group),
    ...writerAcls('User:app', output),
    { principal: 'User:app', resourceType: 'TRANSACTIONAL_ID', name: transactionalId, operation: 'WRITE' },
    { principal: 'User:app', resourceType: 'TRANSACTIONAL_ID', name: transactionalId, operation: 'DESCRIBE' },
  ])
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 300, keys: 30, size: 16 })
  process.env.KVP_TEST_OUTPUT = output
  t.after(() => delete process.env.KVP_TEST_OUTPUT)
  const engine = await startEngine({
    brokers: s.saslSsl,
    groupId: group,
    topics: [{ topic, handler: producingHandler }],
    threads: 2,
    exactlyOnce: true,
    transactionalId,
    kafka: { ...saslSsl(s.plainUsers.app, { mechanism: 'PLAIN' }), 'isolation.level': 'read_committed' },
  })
  t.after(() => engine.stop())
  await waitFor('every input handled', () => engine.stats().totals.handled >= 300, 60_000)
  await engine.stop()
  const rows = await committed(topic, group)
  assert.equal(
    [...rows.values()].reduce((a, b) => a + Math.max(0, b), 0),
    300,
  )
  const outputs = await readTopic(broker.bootstrapServers, output, 300)
  assert.equal(outputs.length, 300)
  assert.equal(new Set(outputs.map((m) => m.value)).size, 300, 'each input once, exactly')
})

test('startEngine() consumes through mutual TLS as the certificate principal', { ...needsRealBroker, timeout: 90_000 }, async (t) => {
  const s = security()
  const topic = uniqueName('secure-mtls')
  const group = uniqueName('g')
  await grant(t, consumerAcls(s.mtlsPrincipal, topic, group))
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 100, keys: 10, size: 16 })
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  const engine = await startEngine({
    brokers: s.mtls,
    groupId: group,
    topics: [{ topic, handler: recordingHandler }],
    threads: 1,
    kafka: { 'security.protocol': 'SSL', 'ssl.ca.location': s.caLocation, 'ssl.certificate.location': s.clientCertLocation, 'ssl.key.location': s.clientKeyLocation },
  })
  t.after(() => engine.stop())
  await waitFor('every message handled', () => engine.stats().totals.handled >= 100, 60_000)
  await engine.stop()
  // Every offset below each committed offset was handled, in per-key order, and they add up to what was produced.
  const offsets = await committed(topic, group)
  assert.equal(
    [...offsets.values()].reduce((a, b) => a + Math.max(0, b), 0),
    100,
  )
  const expected = [...offsets].flatMap(([partition, end]) => Array.from({ length: Math.max(0, end) }, (_, offset) => ({ partition, offset })))
  const records = readRecords(record)
  assert.deepEqual(coverage(records, expected).missing, [])
  assert.deepEqual(orderViolations(records), [])
})

/** Each bad setting, with the code and the words a user sees. */
const badStarts: Array<{ name: string; settings: () => Record<string, string>; brokers?: () => string; code: string; says: RegExp }> = [
  {
    name: 'a wrong password',
    settings: () => saslSsl({ username: security().users.app.username, password: 'not-the-password' }),
    code: ErrorCodes.AUTHENTICATION,
    says: /the broker refused kvp's credentials \(SASL SCRAM-SHA-512 authentication failed\)/,
  },
  { name: 'an unknown user', settings: () => saslSsl({ username: 'nobody-here', password: 'whatever-1234' }), code: ErrorCodes.AUTHENTICATION, says: /the broker refused kvp's credentials/ },
  {
    name: 'no CA (the system trust store does not know the test CA)',
    settings: () => saslSsl(security().users.app, { ca: null }),
    code: ErrorCodes.TLS,
    says: /certificate could not be verified.*ssl\.ca\.location/s,
  },
  { name: 'the wrong CA', settings: () => saslSsl(security().users.app, { ca: security().otherCaLocation }), code: ErrorCodes.TLS, says: /certificate could not be verified/ },
  { name: 'a certificate for another host name', settings: () => saslSsl(security().users.app), brokers: () => security().wrongHost, code: ErrorCodes.TLS, says: /certificate/ },
]

for (const bad of badStarts) {
  test(`startEngine() with ${bad.name} rejects at once with ${bad.code}, naming the cause and the fix`, { ...needsRealBroker, timeout: 60_000 }, async () => {
    const { error, ms } = await startFails(bad.settings(), uniqueName('t'), bad.brokers?.())
    assert.equal(error.code, bad.code, error.message)
    assert.match(error.message, bad.says)
    assert.match(error.message, /Fix: /)
    assert.ok(ms < 10_000, `rejected after ${ms} ms, not at the connect timeout`)
    process.stdout.write(`# ${bad.name}: ${error.code}: ${error.message}\n`)
  })
}

test('kvp run with a wrong password exits 1 within seconds, saying authentication failed (not "broker transport failure")', { ...needsRealBroker, timeout: 60_000 }, async () => {
  const s = security()
  const run = await runKvpToEnd(
    ['run', '--brokers', s.saslSsl, '--group', uniqueName('g'), '--topic', uniqueName('t'), '--handler', recordingHandler],
    asEnv(saslSsl({ username: s.users.app.username, password: 'wrong-password-9' })),
  )
  assert.equal(run.code, 1, run.output)
  assert.match(run.output, /kvp: fatal: the broker refused kvp's credentials .*Fix: check sasl\.username and sasl\.password.* \(KVP_AUTHENTICATION\)/)
  assert.doesNotMatch(run.output, /broker transport failure/)
  assert.ok(run.ms < 15_000, `exited after ${run.ms} ms`)
  process.stdout.write(`# kvp run, wrong password (${run.ms} ms): ${run.output.split('\n').find((line) => line.startsWith('kvp: fatal')) ?? ''}\n`)
})

test('a principal without READ on the topic gets a KVP_AUTHORIZATION fault naming the topic, on /status and not ready; nothing is handled or committed', {
  ...needsRealBroker,
  timeout: 90_000,
}, async (t) => {
  const s = security()
  const topic = uniqueName('secure-noread')
  const group = uniqueName('g')
  await grant(t, [{ principal: 'User:noread', resourceType: 'GROUP', name: group, operation: 'READ' }])
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16 })
  const faults = collectEvents(t, channels.fault)
  const engine = await startEngine({ brokers: s.saslSsl, groupId: group, topics: [{ topic, handler: recordingHandler }], threads: 1, kafka: saslSsl(s.users.noread) })
  t.after(() => engine.stop())
  await waitFor('an authorization fault', () => engine.faults().some((f) => f.code === ErrorCodes.AUTHORIZATION), 30_000)
  const fault = engine.faults().find((f) => f.code === ErrorCodes.AUTHORIZATION)
  assert.equal(fault?.topic, topic)
  assert.match(fault?.cause ?? '', new RegExp(`not allowed to read topic '${topic}'`))
  assert.match(fault?.fix ?? '', /READ and DESCRIBE/)
  assert.ok(
    faults.some((e) => e.error.code === ErrorCodes.AUTHORIZATION),
    'published on kvp:fault',
  )
  assert.equal(engine.stats().totals.handled, 0)
  process.stdout.write(`# no READ on the topic: ${fault?.code}: ${fault?.cause}. Fix: ${fault?.fix}\n`)
})

test('a principal without access to the group gets a KVP_AUTHORIZATION fault naming the group', { ...needsRealBroker, timeout: 90_000 }, async (t) => {
  const s = security()
  const topic = uniqueName('secure-nogroup')
  const group = uniqueName('g')
  await grant(t, [
    { principal: 'User:nogroup', resourceType: 'TOPIC', name: topic, operation: 'READ' },
    { principal: 'User:nogroup', resourceType: 'TOPIC', name: topic, operation: 'DESCRIBE' },
  ])
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 20, keys: 5, size: 16 })
  const engine = await startEngine({ brokers: s.saslSsl, groupId: group, topics: [{ topic, handler: recordingHandler }], threads: 1, kafka: saslSsl(s.users.nogroup) })
  t.after(() => engine.stop())
  await waitFor('a group authorization fault', () => engine.faults().some((f) => f.code === ErrorCodes.AUTHORIZATION), 30_000)
  const fault = engine.faults().find((f) => f.code === ErrorCodes.AUTHORIZATION)
  assert.match(fault?.cause ?? '', new RegExp(`consumer group '${group}'`))
  assert.equal(engine.stats().totals.handled, 0)
  process.stdout.write(`# no access to the group: ${fault?.code}: ${fault?.cause}. Fix: ${fault?.fix}\n`)
})

test('a principal without WRITE on the dead-letter topic loses nothing: the message stays unfinished, the partition stalls visibly below it, and lands once WRITE is granted', {
  ...needsRealBroker,
  timeout: 120_000,
}, async (t) => {
  const s = security()
  const topic = uniqueName('secure-nodlq')
  const deadLetters = uniqueName('secure-nodlq-dlq')
  const group = uniqueName('g')
  await ensureTopic(broker.bootstrapServers, deadLetters)
  await grant(t, consumerAcls('User:nodlq', topic, group))
  await produceMessages({ bootstrapServers: broker.bootstrapServers, topic, count: 30, keys: 5, size: 16, partition: 0 })
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  process.env.KVP_TEST_FAIL = '10:100'
  t.after(() => delete process.env.KVP_TEST_FAIL)
  const engine: Engine = await startEngine({
    brokers: s.saslSsl,
    groupId: group,
    topics: [{ topic, handler: recordingHandler, deadLetter: { topic: deadLetters }, retry: { maxAttempts: 1, backoffMs: 100, maxBackoffMs: 500 } }],
    threads: 1,
    kafka: saslSsl(s.users.nodlq),
  })
  t.after(() => engine.stop())
  await waitFor('a refused dead-letter write', () => engine.faults().some((f) => f.code === ErrorCodes.AUTHORIZATION && f.origin === 'produce'), 60_000)
  // Everything before it is done; its key's later messages wait behind it in its lane.
  await waitFor('the watermark at the unfinished message', () => engine.stats().partitions.find((p) => p.partition === 0)?.watermark === 10, 30_000)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const stalled = engine.stats().partitions.find((p) => p.partition === 0)
  assert.equal(stalled?.watermark, 10, 'the watermark stays at the unfinished message')
  assert.equal(stalled?.retryingLanes, 1, 'its lane shows as retrying')
  const fault = engine.faults().find((f) => f.origin === 'produce')
  // Which refusal librdkafka reports first depends on timing: the idempotent producer's start
  // (no WRITE on any topic: a cluster authorization failure) or the write to the topic itself.
  if (/producer may not write/.test(fault?.cause ?? '')) {
    assert.match(fault?.fix ?? '', /WRITE and DESCRIBE on the output and dead-letter topics/)
  } else {
    assert.equal(fault?.cause, `kvp's principal is not allowed to write to topic '${deadLetters}'`)
    assert.match(fault?.fix ?? '', new RegExp(`WRITE \\(and DESCRIBE\\) on topic '${deadLetters}'`))
  }
  process.stdout.write(`# no WRITE on the dead-letter topic: ${fault?.code}: ${fault?.cause}. Fix: ${fault?.fix}\n`)
  // The fix: grant WRITE; the next retry lands, and the watermark passes the message.
  await grant(t, writerAcls('User:nodlq', deadLetters))
  await waitFor('the dead letter delivered', () => engine.stats().partitions.find((p) => p.partition === 0)?.watermark === 30, 60_000)
  assert.deepEqual(engine.faults(), [], 'the delivery ended the fault')
  await engine.stop()
  assert.equal((await committed(topic, group)).get(0), 30)
  assert.equal((await readTopic(broker.bootstrapServers, deadLetters, 1)).length, 1)
})

test('a subscribed topic that does not exist is a KVP_UNKNOWN_TOPIC fault naming it', { ...needsRealBroker, timeout: 60_000 }, async (t) => {
  const topic = uniqueName('secure-missing')
  // A subscription's topics are looked up again every topic.metadata.refresh.interval.ms (5 minutes by default).
  const engine = await startEngine({
    brokers: broker.bootstrapServers,
    groupId: uniqueName('g'),
    topics: [{ topic, handler: recordingHandler }],
    threads: 1,
    kafka: { 'topic.metadata.refresh.interval.ms': 1000 },
  })
  t.after(() => engine.stop())
  await waitFor('an unknown-topic fault', () => engine.faults().some((f) => f.code === ErrorCodes.UNKNOWN_TOPIC), 30_000)
  const fault = engine.faults().find((f) => f.code === ErrorCodes.UNKNOWN_TOPIC)
  assert.equal(fault?.topic, topic)
  process.stdout.write(`# a missing topic: ${fault?.code}: ${fault?.cause}. Fix: ${fault?.fix}\n`)
  // Created: the fault is over once its partitions are assigned.
  await ensureTopic(broker.bootstrapServers, topic)
  await waitFor('the fault to end', () => engine.faults().length === 0, 60_000, 200)
})
