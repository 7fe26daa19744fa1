import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type Kafka from 'node-rdkafka'
import { ErrorCodes, KvpError } from '../../../src/errors.js'
import type { ClientFault } from '../../../src/kafka/client-fault.js'
import { FaultKinds } from '../../../src/kafka/client-fault.js'
import { connectConsumer, disconnectConsumer } from '../../../src/kafka/consumer-connection.js'
import type { ConnectFaults } from '../../../src/kafka/consumer-connection.js'
import type { ActiveFault } from '../../../src/kafka/fault-watch.js'

/** A consumer whose first `failures` connect attempts each wait out their timeout and fail; it logs each attempt's timeout. */
function fakeConsumer(failures: number, onAttempt: (attempt: number) => void = () => {}) {
  const timeouts: number[] = []
  const consumer = {
    connect(options: { timeout?: number }, callback: (err: Error | null) => void) {
      const timeout = options.timeout ?? 0
      timeouts.push(timeout)
      onAttempt(timeouts.length)
      if (timeouts.length > failures) setImmediate(() => callback(null))
      else setTimeout(() => callback(Object.assign(new Error('Local: Broker transport failure'), { code: -195 })), timeout)
      return consumer
    },
  }
  return { consumer: consumer as unknown as Kafka.KafkaConsumer, timeouts }
}

const noFaults: ConnectFaults = { fatal: () => undefined, active: () => [] }

function active(kind: ClientFault['kind']): ActiveFault {
  return {
    kind,
    code: ErrorCodes.TLS,
    cause: 'the broker certificate could not be verified',
    fix: 'set ssl.ca.location',
    detail: 'certificate verify failed',
    permanent: false,
    origin: 'client',
    since: 0,
    lastSeen: 0,
    count: 1,
  }
}

describe('connectConsumer', () => {
  it('resolves once an attempt connects, each failed attempt waiting twice as long as the one before', async () => {
    const { consumer, timeouts } = fakeConsumer(2)
    await connectConsumer(consumer, noFaults, { timeoutMs: 5_000, attemptMs: 10 })
    assert.deepEqual(timeouts, [10, 20, 40])
  })

  it('a fault connecting cannot get past fails the start when the attempt it happened in returns', async () => {
    const refused = new KvpError(ErrorCodes.AUTHENTICATION, 'SASL authentication failed')
    let fatal: KvpError | undefined
    const { consumer, timeouts } = fakeConsumer(10, (attempt) => {
      if (attempt === 2) fatal = refused
    })
    await assert.rejects(connectConsumer(consumer, { fatal: () => fatal, active: () => [] }, { timeoutMs: 5_000, attemptMs: 10 }), (error) => error === refused)
    assert.equal(timeouts.length, 2)
  })

  it('at the deadline it fails with a Kafka error naming the timeout and the client error', async () => {
    const { consumer, timeouts } = fakeConsumer(100)
    await assert.rejects(connectConsumer(consumer, noFaults, { timeoutMs: 60, attemptMs: 10 }), (error) => {
      assert.ok(error instanceof KvpError)
      assert.equal(error.code, ErrorCodes.KAFKA)
      assert.match(error.message, /^could not connect the consumer within 60 ms: Local: Broker transport failure$/)
      return true
    })
    assert.ok(
      timeouts.every((timeout) => timeout >= 1 && timeout <= 40),
      `no attempt waits past the deadline: ${timeouts.join(', ')}`,
    )
  })

  it('at the deadline it names a credentials or TLS fault in force rather than the transport failure', async () => {
    const { consumer } = fakeConsumer(100)
    const faults: ConnectFaults = { fatal: () => undefined, active: () => [active(FaultKinds.UNKNOWN_TOPIC), active(FaultKinds.TLS)] }
    await assert.rejects(connectConsumer(consumer, faults, { timeoutMs: 30, attemptMs: 10 }), (error) => {
      assert.ok(error instanceof KvpError)
      assert.equal(error.code, ErrorCodes.TLS)
      assert.equal(error.retryable, false)
      assert.match(error.message, /could not be verified \(librdkafka: certificate verify failed\)\. Fix: set ssl\.ca\.location/)
      return true
    })
  })
})

describe('disconnectConsumer', () => {
  it('disconnects a connected consumer and resolves at once for one that is not', async () => {
    let disconnects = 0
    let connected = true
    const consumer = {
      isConnected: () => connected,
      disconnect: (callback: () => void) => {
        disconnects++
        connected = false
        setImmediate(callback)
      },
    }
    await disconnectConsumer(consumer as unknown as Kafka.KafkaConsumer)
    await disconnectConsumer(consumer as unknown as Kafka.KafkaConsumer)
    assert.equal(disconnects, 1)
  })
})
