import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { KafkaError } from '../../../src/errors.js'
import { fromCallback } from '../../../src/kafka/rdkafka-callback.js'

const librdkafkaError = (message: string, code: number): Kafka.LibrdKafkaError => Object.assign(new Error(message), { code, errno: code, origin: 'kafka' }) as Kafka.LibrdKafkaError

const unexpected = (err: Kafka.LibrdKafkaError): Error => assert.fail(`no error expected, got ${err.message}`)

test('a callback with no error resolves with its value; null and undefined both mean no error', async () => {
  assert.equal(await fromCallback<number>((cb) => cb(null, 7), unexpected), 7)
  assert.equal(await fromCallback<string>((cb) => setImmediate(() => cb(undefined, 'later')), unexpected), 'later')
  assert.equal(await fromCallback((cb) => cb(null), unexpected), undefined)
})

test("an error rejects with what `wrap` makes of it, librdkafka's error kept as the cause", async () => {
  const cause = librdkafkaError('Broker transport failure', -195)
  await assert.rejects(
    fromCallback(
      (cb) => cb(cause, undefined),
      (err) => new KafkaError(`could not connect: ${err.message}`, { cause: err }),
    ),
    (error: unknown) => error instanceof KafkaError && error.message === 'could not connect: Broker transport failure' && error.cause === cause,
  )
})
