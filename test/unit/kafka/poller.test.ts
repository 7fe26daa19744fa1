import { strict as assert } from 'node:assert'
import { afterEach, test, mock } from 'node:test'
import type Kafka from 'node-rdkafka'
import { Poller } from '../../../src/kafka/poller.js'

type ConsumeCallback = (err: Kafka.LibrdKafkaError | null, messages: Kafka.Message[]) => void

/**
 * A consumer whose consume calls stay open until the test answers them, in the order they
 * were made. It counts how many are open at once.
 */
function fakeConsumer() {
  const open: ConsumeCallback[] = []
  const sizes: number[] = []
  let mostOpen = 0
  const consumer = {
    consume(size: number, callback: ConsumeCallback) {
      sizes.push(size)
      open.push(callback)
      mostOpen = Math.max(mostOpen, open.length)
    },
  }
  /** Answers the oldest open consume call. */
  const answer = (err: Kafka.LibrdKafkaError | null, messages: Kafka.Message[] = []): void => {
    const callback = open.shift()
    assert.ok(callback, 'a consume call is open')
    callback(err, messages)
  }
  return {
    consumer: consumer as unknown as Kafka.KafkaConsumer,
    open,
    sizes,
    answer,
    get mostOpen() {
      return mostOpen
    },
  }
}

function messages(from: number, count: number): Kafka.Message[] {
  return Array.from({ length: count }, (_, i) => ({ topic: 't', partition: 0, offset: from + i, key: null, value: Buffer.from('v'), size: 1 }))
}

function kafkaError(message: string): Kafka.LibrdKafkaError {
  return Object.assign(new Error(message), { code: -1, origin: 'kafka', errno: -1 }) as unknown as Kafka.LibrdKafkaError
}

/** Whether `promise` has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(() => {
    done = true
  })
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

/** Stops the poller and answers the call it left open. */
async function finish(poller: Poller, fake: ReturnType<typeof fakeConsumer>): Promise<void> {
  const stopped = poller.stop()
  fake.answer(null, [])
  await stopped
  assert.equal(fake.open.length, 0)
}

afterEach(() => {
  mock.timers.reset()
})

test('only one consume call is in flight at a time, asking for pollSize() messages', async () => {
  const fake = fakeConsumer()
  const poller = new Poller(
    fake.consumer,
    () => 50,
    () => {},
    () => {},
  )
  poller.start()
  poller.start()
  assert.equal(fake.open.length, 1, 'a second start() does not start a second loop')
  for (let i = 0; i < 5; i++) fake.answer(null, messages(i * 3, 3))
  fake.answer(null, [])
  assert.equal(fake.mostOpen, 1)
  assert.equal(fake.open.length, 1, 'the loop keeps asking')
  assert.deepEqual(new Set(fake.sizes), new Set([50]))
  assert.equal(poller.polls, 6)
  await finish(poller, fake)
})

test('the next batch is asked for before the current one is handed on', async () => {
  const fake = fakeConsumer()
  const seen: Array<{ first: number; callsBefore: number; open: number }> = []
  const poller = new Poller(
    fake.consumer,
    () => 10,
    (batch) => {
      seen.push({ first: batch[0]?.offset ?? -1, callsBefore: fake.sizes.length, open: fake.open.length })
    },
    () => {},
  )
  poller.start()
  fake.answer(null, messages(0, 2))
  assert.deepEqual(seen, [{ first: 0, callsBefore: 2, open: 1 }], 'the second consume call was made before the first batch was handed on')
  await finish(poller, fake)
})

test('batches are handed on in the order they were fetched, and empty ones not at all', async () => {
  const fake = fakeConsumer()
  const batches: number[][] = []
  const poller = new Poller(
    fake.consumer,
    () => 10,
    (batch) => batches.push(batch.map((m) => m.offset)),
    () => {},
  )
  poller.start()
  fake.answer(null, messages(0, 3))
  fake.answer(null, [])
  fake.answer(null, messages(3, 2))
  fake.answer(null, messages(5, 1))
  assert.deepEqual(batches, [[0, 1, 2], [3, 4], [5]])
  await finish(poller, fake)
})

test('an error from consume is reported and polling retries after a delay, not at once', async () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  const fake = fakeConsumer()
  const errors: Kafka.LibrdKafkaError[] = []
  const batches: Kafka.Message[][] = []
  const poller = new Poller(
    fake.consumer,
    () => 10,
    (batch) => batches.push(batch),
    (error) => errors.push(error),
  )
  poller.start()
  const error = kafkaError('broker transport failure')
  fake.answer(error, [])
  assert.deepEqual(errors, [error])
  assert.equal(fake.open.length, 0, 'no consume call right after an error')
  mock.timers.tick(99)
  assert.equal(fake.open.length, 0, 'still waiting out the delay')
  mock.timers.tick(1)
  assert.equal(fake.open.length, 1, 'polling resumed after the delay')
  fake.answer(null, messages(0, 1))
  assert.equal(batches.length, 1, 'batches flow again after the retry')
  assert.equal(errors.length, 1)
  await finish(poller, fake)
})

test('stop() resolves only once the consume call in progress has returned, and that batch is not handed on', async () => {
  const fake = fakeConsumer()
  const batches: Kafka.Message[][] = []
  const poller = new Poller(
    fake.consumer,
    () => 10,
    (batch) => batches.push(batch),
    () => {},
  )
  poller.start()
  fake.answer(null, messages(0, 1))
  assert.equal(batches.length, 1)
  const stopped = poller.stop()
  assert.equal(await settled(stopped), false, 'a consume call is still open')
  fake.answer(null, messages(1, 4))
  assert.equal(await settled(stopped), true)
  assert.equal(batches.length, 1, 'the batch that arrived after stop() was not handed on')
  assert.equal(fake.open.length, 0, 'no consume call after stop')
})

test('stop() resolves once a consume call that fails has returned, and polling does not retry', async () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  const fake = fakeConsumer()
  const errors: Kafka.LibrdKafkaError[] = []
  const poller = new Poller(
    fake.consumer,
    () => 10,
    () => {},
    (error) => errors.push(error),
  )
  poller.start()
  const stopped = poller.stop()
  assert.equal(await settled(stopped), false)
  fake.answer(kafkaError('timed out'), [])
  assert.equal(await settled(stopped), true)
  assert.equal(errors.length, 1, 'the error is still reported')
  mock.timers.tick(1000)
  assert.equal(fake.open.length, 0, 'no retry after stop')
})

test('stop() during the retry delay resolves at once and the retry never polls', async () => {
  mock.timers.enable({ apis: ['setTimeout'] })
  const fake = fakeConsumer()
  const poller = new Poller(
    fake.consumer,
    () => 10,
    () => {},
    () => {},
  )
  poller.start()
  fake.answer(kafkaError('all brokers down'), [])
  const stopped = poller.stop()
  assert.equal(await settled(stopped), true, 'nothing was in flight')
  mock.timers.tick(1000)
  assert.equal(fake.open.length, 0)
})

test('each poll asks for what pollSize() says at the moment it is asked', async () => {
  const fake = fakeConsumer()
  let size = 4000
  const poller = new Poller(
    fake.consumer,
    () => size,
    () => {
      size = 1000
    },
    () => {},
  )
  poller.start()
  fake.answer(null, messages(0, 3))
  fake.answer(null, messages(3, 3))
  // The second poll was asked for before the first batch was handed on (size still 4000); the third after.
  assert.deepEqual(fake.sizes, [4000, 4000, 1000])
  await finish(poller, fake)
})

test('serveEvents() makes one consume call once stopped and drops what it brings; while running it makes none', async () => {
  const fake = fakeConsumer()
  const batches: Kafka.Message[][] = []
  const poller = new Poller(
    fake.consumer,
    () => 500,
    (batch) => batches.push(batch),
    () => {},
  )
  poller.start()
  await poller.serveEvents()
  assert.equal(fake.open.length, 1, 'only the running poll is open')
  const stopped = poller.stop()
  fake.answer(null, [])
  await stopped
  const served = poller.serveEvents()
  assert.equal(fake.open.length, 1, 'one consume call to serve events')
  fake.answer(null, messages(0, 3))
  await served
  assert.deepEqual(batches, [], 'the messages it brought were not handed on')
  assert.equal(fake.open.length, 0, 'and no poll follows it')
})
