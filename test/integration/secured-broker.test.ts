/**
 * The Apache Kafka tier's secured listeners, with plain node-rdkafka clients: proves the
 * test tooling (tools/apache-kafka/security.ts, test/helpers/acls.ts) before any kvp test
 * relies on it. Apache Kafka only: the embedded cluster has no TLS, SASL or ACLs.
 */
import { strict as assert } from 'node:assert'
import { describe, it, type TestContext } from 'node:test'
import Kafka from 'node-rdkafka'
import type { Credentials, SecureListeners } from '../../tools/apache-kafka/security.js'
import { deleteAcls, grantAcls, type AclSpec } from '../helpers/acls.js'
import { createTopic, needsRealBroker, useBroker } from '../helpers/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'

const broker = useBroker()
const { ERRORS } = Kafka.CODES

/** The secured listeners, or a skip: a broker given by address may come without them. */
function securityOf(t: TestContext): SecureListeners | undefined {
  const security = broker.security
  if (security === undefined) t.skip('this broker has no secured listeners (KVP_TEST_SECURITY is not set)')
  return security
}

/** Client settings for the SASL_SSL listener (or another that speaks SASL_SSL). */
function saslSsl(address: string, caLocation: string, user: Credentials, mechanism: 'SCRAM-SHA-512' | 'PLAIN' = 'SCRAM-SHA-512'): Kafka.ProducerGlobalConfig {
  return {
    'bootstrap.servers': address,
    'security.protocol': 'sasl_ssl',
    'sasl.mechanisms': mechanism,
    'sasl.username': user.username,
    'sasl.password': user.password,
    'ssl.ca.location': caLocation,
  }
}

/** Client settings for the mTLS listener, with the client certificate unless `withCertificate` is false. */
function mtls(security: SecureListeners, withCertificate = true): Kafka.ProducerGlobalConfig {
  return {
    'bootstrap.servers': security.mtls,
    'security.protocol': 'ssl',
    'ssl.ca.location': security.caLocation,
    ...(withCertificate ? { 'ssl.certificate.location': security.clientCertLocation, 'ssl.key.location': security.clientKeyLocation } : {}),
  }
}

/** Grants ACLs for one test and deletes them after it. */
async function granted(t: TestContext, acls: AclSpec[]): Promise<void> {
  await grantAcls(broker.bootstrapServers, acls)
  t.after(() => deleteAcls(broker.bootstrapServers, acls))
}

/** Disconnects a client in t.after; a client whose disconnect hangs does not hold the test. */
function disconnectAfter(t: TestContext, client: Kafka.Producer | Kafka.KafkaConsumer): void {
  t.after(
    () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000)
        const done = (): void => {
          clearTimeout(timer)
          resolve()
        }
        try {
          client.disconnect(done)
        } catch {
          // A producer that never connected refuses to flush: there is nothing to close.
          done()
        }
      }),
  )
}

function connect(client: Kafka.Producer | Kafka.KafkaConsumer, timeoutMs: number): Promise<Kafka.LibrdKafkaError | undefined> {
  return new Promise((resolve) => client.connect({ timeout: timeoutMs }, (err) => resolve(err ?? undefined)))
}

async function connectedProducer(t: TestContext, config: Kafka.ProducerGlobalConfig): Promise<Kafka.Producer> {
  const producer = new Kafka.Producer({ ...config, dr_cb: true, log_level: 3 })
  producer.on('event.error', () => {})
  disconnectAfter(t, producer)
  const err = await connect(producer, 20_000)
  if (err) throw new Error(`the producer could not connect to ${String(config['bootstrap.servers'])}: ${err.message}`)
  producer.setPollInterval(50)
  return producer
}

/** Produces values to partition 0 and waits for their delivery reports: the first error rejects. */
async function produce(producer: Kafka.Producer, topic: string, values: string[]): Promise<void> {
  const pending = new Set<object>()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${pending.size} delivery reports missing after 20 s`)), 20_000)
    const onReport = (err: Kafka.LibrdKafkaError | null, report: Kafka.DeliveryReport): void => {
      if (!pending.has(report.opaque as object)) return
      pending.delete(report.opaque as object)
      if (err || pending.size === 0) {
        clearTimeout(timer)
        producer.off('delivery-report', onReport)
        if (err) reject(err)
        else resolve()
      }
    }
    producer.on('delivery-report', onReport)
    for (const value of values) {
      const opaque = { value }
      pending.add(opaque)
      producer.produce(topic, 0, Buffer.from(value), null, Date.now(), opaque)
    }
  })
}

async function subscribedConsumer(t: TestContext, config: Kafka.ProducerGlobalConfig, groupId: string, topic: string): Promise<Kafka.KafkaConsumer> {
  const consumer = new Kafka.KafkaConsumer({ ...config, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3 }, { 'auto.offset.reset': 'earliest' })
  consumer.on('event.error', () => {})
  disconnectAfter(t, consumer)
  const err = await connect(consumer, 20_000)
  if (err) throw new Error(`the consumer could not connect to ${String(config['bootstrap.servers'])}: ${err.message}`)
  consumer.subscribe([topic])
  return consumer
}

function consumeBatch(consumer: Kafka.KafkaConsumer): Promise<{ err: Kafka.LibrdKafkaError | undefined; messages: Kafka.Message[] }> {
  return new Promise((resolve) => consumer.consume(100, (err, messages) => resolve({ err: err ?? undefined, messages: messages ?? [] })))
}

/** How long a client that is expected to be refused tries to connect. */
const REFUSED_CONNECT_TIMEOUT_MS = 4_000

/** What a client that cannot get through saw. */
interface Refusal {
  /** librdkafka's FAIL log lines (the one place that names the reason at once), with ms since the start. */
  failures: Array<{ ms: number; message: string }>
  /** What connect() ended with. */
  connectError: Kafka.LibrdKafkaError | undefined
  /** `event.error` messages: node-rdkafka hands them on only when the client's queue is served (see refusedClient). */
  events: string[]
}

/**
 * Connects a consumer that is expected never to get through, and returns what it saw.
 *
 * Why the log and not `event.error`: node-rdkafka 3.6.1 delivers error events only when
 * the client's queue is served (consume, poll, close), which a client that never connected
 * does at most while closing, and then not always; and the event carries librdkafka's
 * message text only (`Local: Authentication failure` → code -1, message
 * 'authentication failure'). The FAIL log line comes from librdkafka's broker thread as
 * soon as the attempt fails.
 */
async function refusedClient(t: TestContext, config: Kafka.ProducerGlobalConfig): Promise<Refusal> {
  const consumer = new Kafka.KafkaConsumer({ ...config, 'group.id': uniqueName('secured-refused'), log_level: 3 }, {})
  const began = Date.now()
  const refusal: Refusal = { failures: [], connectError: undefined, events: [] }
  consumer.on('event.log', (log) => {
    if (log.fac === 'FAIL') refusal.failures.push({ ms: Date.now() - began, message: log.message })
  })
  consumer.on('event.error', (err) => refusal.events.push(err.message))
  disconnectAfter(t, consumer)
  refusal.connectError = await connect(consumer, REFUSED_CONNECT_TIMEOUT_MS)
  const first = refusal.failures[0]
  t.diagnostic(`first FAIL log after ${first?.ms ?? '-'} ms: ${first?.message ?? '(none)'}`)
  t.diagnostic(`connect() after ${Date.now() - began} ms: ${refusal.connectError ? `${refusal.connectError.code} ${refusal.connectError.message}` : 'connected'}`)
  t.diagnostic(`error events: ${[...new Set(refusal.events)].join('; ') || '(none)'}`)
  return refusal
}

/** The client did not connect, and librdkafka logged `reason` well before the connect timeout. */
function assertRefused(refusal: Refusal, reason: RegExp): void {
  assert.equal(refusal.connectError?.code, ERRORS.ERR__TRANSPORT, `connect() must fail, not ${refusal.connectError?.message ?? 'succeed'}`)
  const failure = refusal.failures.find(({ message }) => reason.test(message))
  assert.ok(failure, `no FAIL log line matches ${reason}; got:\n${refusal.failures.map(({ message }) => message).join('\n')}`)
  assert.ok(failure.ms < REFUSED_CONNECT_TIMEOUT_MS / 2, `the reason was logged after ${failure.ms} ms`)
}

describe('the Apache Kafka tier serves secured listeners with ACLs', { ...needsRealBroker, timeout: 240_000 }, () => {
  it('a producer over SASL_SSL as admin writes, and a consumer as app, allowed to read the topic and its group, reads it back', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    const topic = uniqueName('secured')
    const group = uniqueName('secured-group')
    await createTopic(broker.bootstrapServers, topic, { partitions: 1 })
    await granted(t, [
      { principal: 'User:app', resourceType: 'TOPIC', name: topic, operation: 'READ' },
      { principal: 'User:app', resourceType: 'GROUP', name: group, operation: 'READ' },
    ])

    const producer = await connectedProducer(t, saslSsl(security.saslSsl, security.caLocation, security.users.admin))
    const values = ['one', 'two', 'three']
    await produce(producer, topic, values)

    const consumer = await subscribedConsumer(t, saslSsl(security.saslSsl, security.caLocation, security.users.app), group, topic)
    const read: string[] = []
    await waitFor(
      `the three values (read: ${read.join(',')})`,
      async () => {
        const { err, messages } = await consumeBatch(consumer)
        if (err) throw err
        for (const message of messages) read.push(message.value?.toString() ?? '')
        return read.length >= values.length
      },
      30_000,
      0,
    )
    assert.deepEqual(read, values)
  })

  it('a wrong password is refused as an authentication failure, with SCRAM and with PLAIN, well before a connect timeout', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    const wrong = { username: 'app', password: 'not-the-password' }
    const scram = await refusedClient(t, saslSsl(security.saslSsl, security.caLocation, wrong, 'SCRAM-SHA-512'))
    assertRefused(scram, /SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/)
    const plain = await refusedClient(t, saslSsl(security.saslSsl, security.caLocation, wrong, 'PLAIN'))
    assertRefused(plain, /SASL authentication error: Authentication failed: Invalid username or password/)
    for (const refusal of [scram, plain]) {
      for (const event of refusal.events) assert.match(event, /^(authentication failure|all broker connections are down|broker transport failure)$/)
      for (const { message } of refusal.failures) assert.equal(message.includes(security.users.app.password), false)
    }
  })

  it('app without READ on a topic gets TOPIC_AUTHORIZATION_FAILED', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    const topic = uniqueName('secured-denied')
    const group = uniqueName('secured-denied-group')
    await createTopic(broker.bootstrapServers, topic, { partitions: 1 })
    await granted(t, [{ principal: 'User:app', resourceType: 'GROUP', name: group, operation: 'READ' }])

    const consumer = await subscribedConsumer(t, saslSsl(security.saslSsl, security.caLocation, security.users.app), group, topic)
    let denied: Kafka.LibrdKafkaError | undefined
    await waitFor(
      'a consume error',
      async () => {
        const { err, messages } = await consumeBatch(consumer)
        assert.equal(messages.length, 0, 'nothing may be read')
        denied = err
        return err !== undefined
      },
      30_000,
      0,
    )
    t.diagnostic(`consume(): ${denied?.code} ${denied?.message}`)
    assert.equal(denied?.code, ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED)
  })

  it('the PLAIN user app is the principal User:app: allowed to write, it writes', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    const topic = uniqueName('secured-plain')
    await createTopic(broker.bootstrapServers, topic, { partitions: 1 })
    await granted(t, [{ principal: 'User:app', resourceType: 'TOPIC', name: topic, operation: 'WRITE' }])
    const producer = await connectedProducer(t, saslSsl(security.saslSsl, security.caLocation, security.plainUsers.app, 'PLAIN'))
    await produce(producer, topic, ['plain'])
  })

  it('the mTLS listener knows a client by its certificate (User:CN=mtls-client) and refuses a client without one', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    assert.equal(security.mtlsPrincipal, 'User:CN=mtls-client')
    const topic = uniqueName('secured-mtls')
    await createTopic(broker.bootstrapServers, topic, { partitions: 1 })
    await granted(t, [{ principal: security.mtlsPrincipal, resourceType: 'TOPIC', name: topic, operation: 'WRITE' }])
    const producer = await connectedProducer(t, mtls(security))
    await produce(producer, topic, ['mtls'])

    const refused = await refusedClient(t, mtls(security, false))
    assertRefused(refused, /SSL alert number (42|116)|alert (bad certificate|certificate required)/)
  })

  it('a certificate for another host name, and a broker certificate checked against an unrelated CA, fail verification', { timeout: 60_000 }, async (t) => {
    const security = securityOf(t)
    if (!security) return
    const unverified = /SSL handshake failed: .*certificate verify failed/
    assertRefused(await refusedClient(t, saslSsl(security.wrongHost, security.caLocation, security.users.admin)), unverified)
    assertRefused(await refusedClient(t, saslSsl(security.saslSsl, security.otherCaLocation, security.users.admin)), unverified)

    // The wrong-host certificate is signed by the right CA: only its host name is wrong.
    await connectedProducer(t, { ...saslSsl(security.wrongHost, security.caLocation, security.users.admin), 'ssl.endpoint.identification.algorithm': 'none' })
  })
})
