/**
 * The Apache Kafka launcher against a real JVM. Runs only with KVP_TEST_BROKERS=kafka (it
 * needs java and mvn, and a first run downloads the broker's jars).
 */
import { brokerKind } from '../helpers/broker.js'
import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, it, type TestContext } from 'node:test'
import Kafka from 'node-rdkafka'
import { startApacheKafka, type ApacheKafka } from '../../tools/apache-kafka/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { isAlive } from '../helpers/process.js'

const MAIN = fileURLToPath(new URL('../../tools/apache-kafka/main.js', import.meta.url))
const skip = brokerKind === 'kafka' ? false : 'Apache Kafka tier: set KVP_TEST_BROKERS=kafka to run (needs java and mvn on PATH)'

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const settle = (accepted: boolean): void => {
      socket.destroy()
      resolve(accepted)
    }
    socket.once('connect', () => settle(true))
    socket.once('error', () => settle(false))
  })
}

async function createTopic(bootstrapServers: string, topic: string, partitions: number): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrapServers, log_level: 3 })
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 20_000, (err) => (err ? reject(err) : resolve()))
    })
  } finally {
    admin.disconnect()
  }
}

async function connectedProducer(t: TestContext, bootstrapServers: string): Promise<Kafka.Producer> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, dr_cb: true, log_level: 3, 'reconnect.backoff.max.ms': 500 })
  producer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 20_000 }, (err) => (err ? reject(err) : resolve())))
  producer.setPollInterval(50)
  t.after(() => new Promise<void>((resolve) => producer.disconnect(5_000, () => resolve())))
  return producer
}

/** Produces one message and waits for its delivery report. */
async function produce(producer: Kafka.Producer, topic: string, value: string, timeoutMs = 30_000): Promise<void> {
  const opaque = { value }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no delivery report for ${value} within ${timeoutMs} ms`)), timeoutMs)
    const onReport = (err: Kafka.LibrdKafkaError | null, report: Kafka.DeliveryReport): void => {
      if (report.opaque !== opaque) return
      clearTimeout(timer)
      producer.off('delivery-report', onReport)
      if (err) reject(err)
      else resolve()
    }
    producer.on('delivery-report', onReport)
    producer.produce(topic, 0, Buffer.from(value), 'key', Date.now(), opaque)
  })
}

/** Reads the topic from the beginning with a fresh group until `expected` values arrived. */
async function consumeValues(t: TestContext, bootstrapServers: string, topic: string, expected: number, protocol: 'classic' | 'consumer'): Promise<string[]> {
  const config: Kafka.ConsumerGlobalConfig = {
    'bootstrap.servers': bootstrapServers,
    'group.id': uniqueName('launcher-group'),
    'group.protocol': protocol,
    'enable.auto.commit': false,
    log_level: 3,
    ...(protocol === 'classic' ? { 'session.timeout.ms': 6000 } : {}),
  }
  const consumer = new Kafka.KafkaConsumer(config, { 'auto.offset.reset': 'earliest' })
  consumer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 20_000 }, (err) => (err ? reject(err) : resolve())))
  t.after(() => new Promise<void>((resolve) => consumer.disconnect(() => resolve())))
  consumer.subscribe([topic])
  const values: string[] = []
  const deadline = Date.now() + 40_000
  while (values.length < expected) {
    if (Date.now() > deadline) throw new Error(`consumed ${JSON.stringify(values)} from ${topic}, expected ${expected} messages`)
    const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (err, messages) => (err ? reject(err) : resolve(messages))))
    for (const message of batch) values.push(message.value?.toString() ?? '')
  }
  return values
}

describe('Apache Kafka launcher', { skip, timeout: 300_000 }, () => {
  it('a started broker serves a created topic, keeps its data across halt and restart on the same port, and leaves no folder after stop', { timeout: 240_000 }, async (t) => {
    const began = Date.now()
    const kafka: ApacheKafka = await startApacheKafka({ log: (line) => t.diagnostic(line) })
    t.after(() => kafka.stop())
    t.diagnostic(`started in ${Date.now() - began} ms`)
    assert.equal(kafka.bootstrapServers, `127.0.0.1:${kafka.port}`)

    const topic = uniqueName('launcher')
    await createTopic(kafka.bootstrapServers, topic, 3)
    const producer = await connectedProducer(t, kafka.bootstrapServers)
    await produce(producer, topic, 'before restart')
    assert.deepEqual(await consumeValues(t, kafka.bootstrapServers, topic, 1, 'consumer'), ['before restart'])

    await kafka.halt()
    assert.equal(await acceptsConnections(kafka.port), false, 'a halted broker refuses connections')
    assert.ok(existsSync(kafka.dataDir), 'halt() keeps the data folder')

    const restarting = Date.now()
    await kafka.restart()
    t.diagnostic(`restarted in ${Date.now() - restarting} ms`)
    // The producer from before the halt reconnects to the same address.
    await produce(producer, topic, 'after restart')
    assert.deepEqual(await consumeValues(t, kafka.bootstrapServers, topic, 2, 'classic'), ['before restart', 'after restart'])

    await kafka.stop()
    assert.equal(existsSync(kafka.dataDir), false, 'stop() removes the data folder')
    assert.equal(await acceptsConnections(kafka.port), false)
    await kafka.stop()
  })

  it('npm run kafka prints BOOTSTRAP=, serves, and exits 0 on SIGTERM with the JVM and its folder gone', { timeout: 180_000 }, async (t) => {
    const child = spawn(process.execPath, [MAIN, '--verbose'], { stdio: ['ignore', 'pipe', 'pipe'] })
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const closed = once(child, 'close')
    // stdout and stderr are separate pipes: the hint on stderr may arrive after BOOTSTRAP=.
    await waitFor('BOOTSTRAP= on stdout and the usage hint on stderr', () => (/^BOOTSTRAP=127\.0\.0\.1:\d+$/m.test(stdout) && /kvp run --brokers/.test(stderr)) || child.exitCode !== null, 120_000)
    const port = Number(/^BOOTSTRAP=127\.0\.0\.1:(\d+)$/m.exec(stdout)?.[1])
    assert.ok(port > 0, `stdout: ${stdout}\nstderr: ${stderr}`)
    assert.match(stderr, new RegExp(`kvp run --brokers 127\\.0\\.0\\.1:${port}`))
    const javaPid = Number(/java pid (\d+)/.exec(stderr)?.[1])
    const dataDir = /data and broker\.log in (\S+?)\)/.exec(stderr)?.[1] ?? ''
    assert.ok(isAlive(javaPid) && existsSync(dataDir), stderr)
    assert.ok(await acceptsConnections(port))

    child.kill('SIGTERM')
    const [code] = (await closed) as [number | null]
    assert.equal(code, 0, stderr)
    assert.equal(isAlive(javaPid), false, 'the JVM is gone')
    assert.equal(existsSync(dataDir), false, 'the folder is gone')
  })
})
