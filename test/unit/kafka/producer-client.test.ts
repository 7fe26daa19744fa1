import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import Kafka from 'node-rdkafka'
import { KafkaError } from '../../../src/errors.js'
import { bufferHeaders, isQueueFull, PRODUCER_DEFAULTS, produceError, produceWaitingForRoom } from '../../../src/kafka/producer-client.js'

const queueFull = (): Error => Object.assign(new Error('Local: Queue full'), { code: Kafka.CODES.ERRORS.ERR__QUEUE_FULL })

/** A client whose produce() throws queue-full `full` times, then takes the message; counts its polls. */
function fakeClient(full: number) {
  const calls = { polls: 0, sends: 0, sent: 0 }
  let left = full
  const client = { poll: () => calls.polls++ } as unknown as Kafka.Producer
  const send = (): void => {
    calls.sends++
    if (left > 0) {
      left--
      throw queueFull()
    }
    calls.sent++
  }
  return { client, send, calls }
}

describe('producer plumbing', () => {
  test('a message librdkafka takes at once goes without a promise: a loop awaits only when it must wait', () => {
    const { client, send, calls } = fakeClient(0)
    assert.equal(produceWaitingForRoom(client, send), undefined)
    assert.deepEqual(calls, { polls: 0, sends: 1, sent: 1 })
  })

  test('a full local queue is waited out: librdkafka is polled (it sends and reports), then the message goes', async () => {
    const { client, send, calls } = fakeClient(3)
    const waiting = produceWaitingForRoom(client, send)
    assert.ok(waiting instanceof Promise)
    await waiting
    assert.deepEqual(calls, { polls: 3, sends: 4, sent: 1 })
  })

  test('a full queue is no longer waited out once keepWaiting() says no: the queue-full error is thrown as raised', async () => {
    const { client, send, calls } = fakeClient(10)
    let open = true
    const waiting = produceWaitingForRoom(client, send, () => open)
    open = false
    await assert.rejects(waiting as Promise<void>, (error: unknown) => isQueueFull(error))
    assert.equal(calls.sent, 0)
    assert.throws(
      () => produceWaitingForRoom(client, send, () => false),
      (error: unknown) => isQueueFull(error),
      'at once when not waiting at all',
    )
  })

  test('any other error is thrown at once, untouched', () => {
    const { client } = fakeClient(0)
    const refused = Object.assign(new Error('Broker: Message size too large'), { code: 10 })
    assert.throws(
      () =>
        produceWaitingForRoom(client, () => {
          throw refused
        }),
      (error: unknown) => error === refused,
    )
  })

  test('produceError names the topic and keeps what librdkafka threw as the cause', () => {
    const raised = Object.assign(new Error('Local: Unknown topic'), { code: -188 })
    const error = produceError(raised, 'orders')
    assert.ok(error instanceof KafkaError)
    assert.equal(error.message, 'producing to orders failed: Local: Unknown topic')
    assert.equal(error.cause, raised)
    assert.equal(produceError('odd', 'orders').message, 'producing to orders failed: odd')
  })

  test('every kvp producer starts from one set of defaults', () => {
    assert.deepEqual({ ...PRODUCER_DEFAULTS }, { 'client.id': 'kvp-producer', 'linger.ms': 5, 'queue.buffering.max.messages': 1_000_000 })
  })

  test('headers go as one { name: Buffer } each, in order; strings as their UTF-8 bytes', () => {
    assert.deepEqual(bufferHeaders([{ a: 'ü', b: Buffer.from([0]) }, { a: 'x' }]), [{ a: Buffer.from('ü', 'utf8') }, { b: Buffer.from([0]) }, { a: Buffer.from('x') }])
  })
})
