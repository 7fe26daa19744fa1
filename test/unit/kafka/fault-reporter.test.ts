import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import Kafka from 'node-rdkafka'
import { channels } from '../../../src/diagnostics.js'
import type { FaultClearedEvent, FaultEvent } from '../../../src/diagnostics.js'
import { ErrorCodes } from '../../../src/errors.js'
import type { KvpError } from '../../../src/errors.js'
import { FaultKinds } from '../../../src/kafka/client-fault.js'
import { FAULT_REPEAT_MS } from '../../../src/kafka/fault-watch.js'
import { FaultReporter } from '../../../src/kafka/fault-reporter.js'

const E = Kafka.CODES.ERRORS

const AUTH_FAILED = { code: E.ERR__AUTHENTICATION, message: 'SASL authentication error: Authentication failed due to invalid credentials with SASL mechanism SCRAM-SHA-512' }
const corruptBatch = (topic: string, partition: number, offset: number) => ({ code: E.ERR__BAD_MSG, message: 'Local: Bad message format', topic, partition, offset })
const MISSING_CODEC = { code: E.ERR__NOT_IMPLEMENTED, message: 'Decompression (codec 0x4) of message at 120 failed: Local: Not implemented', topic: 'orders', partition: 2, offset: 120 }
const UNKNOWN_TOPIC = { code: E.ERR_UNKNOWN_TOPIC_OR_PART, message: 'Broker: Unknown topic or partition', topic: 'orders' }

/** A reporter with a clock the test moves, reactions that log, and the channels it publishes on listened to. */
function setup(t: TestContext) {
  let now = 1_000
  const reactions: string[] = []
  const errors: KvpError[] = []
  const reporter = new FaultReporter(
    { groupId: 'g', features: ['gzip'], now: () => now },
    {
      unreadable: (topic, partition, offset) => reactions.push(`unreadable ${topic}[${partition}] at ${offset}`),
      refused: (error) => {
        reactions.push(`refused ${error.code}`)
        errors.push(error)
      },
      permanent: (error) => {
        reactions.push(`permanent ${error.code}`)
        errors.push(error)
      },
    },
  )
  const faults: FaultEvent[] = []
  const cleared: FaultClearedEvent[] = []
  const kafkaErrors: unknown[] = []
  t.after(channels.fault.subscribe((event) => faults.push(event)))
  t.after(channels.faultCleared.subscribe((event) => cleared.push(event)))
  t.after(channels.kafkaError.subscribe((event) => kafkaErrors.push(event.error)))
  return {
    reporter,
    reactions,
    errors,
    faults,
    cleared,
    kafkaErrors,
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('FaultReporter', () => {
  it('an error that is no fault is published as a Kafka error, unless it is only a log line', (t) => {
    const { reporter, kafkaErrors, faults, reactions } = setup(t)
    const transient = { code: E.ERR__TRANSPORT, message: 'Local: Broker transport failure' }
    reporter.clientError(transient, 'client')
    reporter.clientError({ message: 'Connect to ipv4#127.0.0.1:1 failed: Connection refused' }, 'client', undefined, true)
    assert.deepEqual(kafkaErrors, [transient])
    assert.deepEqual(faults, [])
    assert.deepEqual(reactions, [])
    assert.deepEqual(reporter.active(), [])
  })

  it('refused credentials are a fault in force, published with its cause and fix, and fail a start that is connecting', (t) => {
    const { reporter, faults, reactions, errors } = setup(t)
    reporter.clientError(AUTH_FAILED, 'client')
    assert.deepEqual(reactions, [`refused ${ErrorCodes.AUTHENTICATION}`])
    assert.equal(errors[0]?.retryable, false)
    assert.match(errors[0]?.message ?? '', /Fix: /)
    assert.equal(faults.length, 1)
    assert.equal(faults[0]?.fault.kind, FaultKinds.AUTHENTICATION)
    assert.equal(faults[0]?.error, errors[0])
    assert.equal(faults[0]?.repeat, false)
    assert.deepEqual(
      reporter.active().map((fault) => fault.kind),
      [FaultKinds.AUTHENTICATION],
    )
  })

  it('a fault seen again is published again only after the repeat interval, and counted every time', (t) => {
    const { reporter, faults, advance } = setup(t)
    reporter.clientError(AUTH_FAILED, 'client')
    advance(10)
    reporter.clientError(AUTH_FAILED, 'client')
    assert.equal(faults.length, 1)
    advance(FAULT_REPEAT_MS)
    reporter.clientError(AUTH_FAILED, 'client')
    assert.equal(faults.length, 2)
    assert.equal(faults[1]?.repeat, true)
    assert.equal(reporter.active()[0]?.count, 3)
  })

  it('a corrupt batch stops its partition at the offset; only reassigning the partition ends it', (t) => {
    const { reporter, reactions, cleared } = setup(t)
    reporter.clientError(corruptBatch('orders', 1, 42), 'consume')
    assert.deepEqual(reactions, ['unreadable orders[1] at 42'])
    reporter.fetched('orders')
    reporter.assigned('orders', 0)
    assert.equal(reporter.active().length, 1, 'progress elsewhere does not end it')
    reporter.assigned('orders', 1)
    assert.deepEqual(reporter.active(), [])
    assert.deepEqual(
      cleared.map((event) => event.fault.kind),
      [FaultKinds.CORRUPT_BATCH],
    )
  })

  it('a codec the build lacks stops its partition and the engine', (t) => {
    const { reporter, reactions } = setup(t)
    reporter.clientError(MISSING_CODEC, 'consume')
    assert.deepEqual(reactions, ['unreadable orders[2] at 120', `permanent ${ErrorCodes.CODEC}`])
  })

  it('progress ends the faults it proves wrong: a fetch its topic and the client, a join the client, a delivery the producer', (t) => {
    const { reporter, cleared } = setup(t)
    reporter.clientError(UNKNOWN_TOPIC, 'consume')
    reporter.clientError(AUTH_FAILED, 'client')
    reporter.clientError({ ...UNKNOWN_TOPIC, topic: 'out' }, 'produce', 'out')
    assert.equal(reporter.active().length, 3)

    reporter.joined()
    assert.deepEqual(
      cleared.map((event) => event.fault.kind),
      [FaultKinds.AUTHENTICATION],
    )
    reporter.fetched('orders')
    assert.equal(cleared.length, 2)
    assert.equal(cleared[1]?.fault.topic, 'orders')
    reporter.delivered('other')
    assert.equal(reporter.active().length, 1, 'a delivery to another topic proves nothing about out')
    reporter.delivered('out')
    assert.deepEqual(reporter.active(), [])
  })
})
