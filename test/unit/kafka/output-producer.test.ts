import { strict as assert } from 'node:assert'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import type { DecodedOutput } from '../../../src/codec/output-records.js'
import { ErrorCodes, type KvpError } from '../../../src/errors.js'
import { OutputProducer, type ProducerEvents } from '../../../src/kafka/output-producer.js'
import { waitFor } from '../../helpers/kafka.js'

type Callback = (err: Kafka.LibrdKafkaError | null | undefined) => void

interface Produced {
  topic: string
  value: Buffer | null
  opaque: unknown
}

/**
 * A node-rdkafka producer as OutputProducer drives it: it keeps what it was handed, reports
 * deliveries when the test says so, and throws from produce() as scripted. Transaction calls
 * log themselves and answer at once, or wait for the test (`hold`).
 */
class FakeProducer extends EventEmitter {
  readonly produced: Produced[] = []
  readonly calls: string[] = []
  /** Errors produce() throws, in turn, before it accepts a record. */
  readonly throws: unknown[] = []
  /** Transaction calls that fail, by name, in turn. */
  readonly failures = new Map<string, unknown[]>()
  /** Transaction calls that wait for `release(name)`. */
  readonly held = new Map<string, Callback | undefined>()
  connected = true
  polls = 0

  produce(topic: string, _partition: number | null, value: Buffer | null, _key: unknown, _timestamp: unknown, opaque: unknown): void {
    const error = this.throws.shift()
    if (error !== undefined) throw error
    this.produced.push({ topic, value, opaque })
  }

  /** The delivery report of the `index`th record produced (failed with `error`, if given). */
  report(index: number, error?: { message: string; code: number }): void {
    const record = this.produced[index]
    assert.ok(record, `record ${index} was produced`)
    const err = error ? Object.assign(new Error(error.message), { code: error.code }) : null
    this.emit('delivery-report', err, { topic: record.topic, partition: 0, offset: index, opaque: record.opaque })
  }

  poll(): void {
    this.polls++
  }

  isConnected(): boolean {
    return this.connected
  }

  flush(_timeout: number, cb: Callback): void {
    cb(null)
  }

  disconnect(_timeout: number, cb: () => void): void {
    this.calls.push('disconnect')
    this.connected = false
    cb()
  }

  #call(name: string, cb: Callback): void {
    this.calls.push(name)
    const error = this.failures.get(name)?.shift()
    if (error !== undefined) {
      setImmediate(() => cb(error as Kafka.LibrdKafkaError))
      return
    }
    if (this.held.has(name)) this.held.set(name, cb)
    else setImmediate(() => cb(null))
  }

  release(name: string): void {
    const cb = this.held.get(name)
    assert.ok(cb, `${name} was called and is held`)
    this.held.delete(name)
    cb(null)
  }

  initTransactions(_timeout: number, cb: Callback): void {
    this.#call('initTransactions', cb)
  }

  beginTransaction(cb: Callback): void {
    this.#call('beginTransaction', cb)
  }

  sendOffsetsToTransaction(_offsets: unknown, _consumer: unknown, _timeout: number, cb: Callback): void {
    this.#call('sendOffsetsToTransaction', cb)
  }

  commitTransaction(_timeout: number, cb: Callback): void {
    this.#call('commitTransaction', cb)
  }

  abortTransaction(_timeout: number, cb: Callback): void {
    this.#call('abortTransaction', cb)
  }
}

/** An OutputProducer over fake clients: each connect makes a new one (or fails, as scripted). */
function setup(options: { transactionalId?: string; settings?: Record<string, string | number | boolean> } = {}) {
  const clients: FakeProducer[] = []
  const settings: Array<Record<string, unknown>> = []
  const connectFailures: Error[] = []
  const errors: Array<{ error: unknown; topic: string | undefined }> = []
  const delivered: string[] = []
  const events: ProducerEvents = { error: (error, topic) => errors.push({ error, topic }), delivered: (topic) => delivered.push(topic) }
  const connect = async (_bootstrap: string, config: Record<string, string | number | boolean>): Promise<Kafka.Producer> => {
    settings.push(config)
    const failure = connectFailures.shift()
    if (failure) throw failure
    const client = new FakeProducer()
    clients.push(client)
    return client as unknown as Kafka.Producer
  }
  const producer = new OutputProducer('b:1', options.settings ?? {}, options.transactionalId, events, connect)
  const client = (i = 0): FakeProducer => {
    const found = clients[i]
    assert.ok(found, `client ${i} was made`)
    return found
  }
  return { producer, clients, client, settings, connectFailures, errors, delivered }
}

const record = (topic: string, value: string): DecodedOutput => ({ topic, partition: null, key: null, value: Buffer.from(value), headers: undefined })

interface Outcome {
  failedAt: number | undefined
  error: KvpError | undefined
  sent: boolean
}

/** Sends a batch; `outcome()` is what `done` got (undefined until it ran), `runs` how often it ran. */
function send(producer: OutputProducer, records: DecodedOutput[], counts: number[]) {
  const outcomes: Outcome[] = []
  producer.send(records, counts, (failedAt, error, sent) => outcomes.push({ failedAt, error, sent }))
  return { outcome: () => outcomes[0], runs: () => outcomes.length }
}

const DENIED = { message: 'Broker: Topic authorization failed', code: Kafka.CODES.ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED }

test('a batch is done once, after the last delivery report; all delivered: no failure', async () => {
  const { producer, client, delivered } = setup()
  const batch = send(producer, [record('out', 'a'), record('out', 'b'), record('other', 'c')], [2, 1])
  await waitFor('the records handed to the client', () => client().produced.length === 3, 2000, 1)
  client().report(0)
  client().report(2)
  assert.equal(batch.runs(), 0, 'one report is still out')
  client().report(1)
  assert.deepEqual(batch.outcome(), { failedAt: undefined, error: undefined, sent: false })
  assert.equal(batch.runs(), 1)
  assert.deepEqual(delivered, ['out', 'other', 'out'], 'events.delivered hears each delivery with its topic')
})

test('a failed delivery report fails the batch at the first message with a failed record, with a KVP_PRODUCE error naming the topic', async () => {
  const { producer, client, errors } = setup()
  // Messages 0, 1 and 2 produced 1, 2 and 1 records: records 2 (message 1) and 3 (message 2) fail.
  const batch = send(producer, [record('out', 'a'), record('out', 'b'), record('out', 'c'), record('out', 'd')], [1, 2, 1])
  await waitFor('the records handed to the client', () => client().produced.length === 4, 2000, 1)
  client().report(3, DENIED)
  client().report(0)
  client().report(2, DENIED)
  client().report(1)
  const outcome = batch.outcome()
  assert.equal(outcome?.failedAt, 1, 'message 1 is the first whose records did not all land')
  assert.equal(outcome?.error?.code, ErrorCodes.PRODUCE)
  assert.match(outcome?.error?.message ?? '', /^a record to topic 'out' was not delivered: Broker: Topic authorization failed/)
  assert.equal(outcome?.sent, true, 'a failed delivery means the record reached the producer')
  assert.deepEqual(
    errors.map((e) => [e.topic, (e.error as Error).message]),
    [
      ['out', DENIED.message],
      ['out', DENIED.message],
    ],
    'events.error hears each failed delivery with its topic',
  )
})

test('an empty batch is done at once, without connecting', () => {
  const { producer, clients } = setup()
  const batch = send(producer, [], [0, 0])
  assert.deepEqual(batch.outcome(), { failedAt: undefined, error: undefined, sent: false })
  assert.equal(clients.length, 0)
})

test('a full local queue is waited out (polling the client) and the record produced, once', async () => {
  const { producer, client } = setup()
  await producer.connect()
  const queueFull = Object.assign(new Error('Local: Queue full'), { code: Kafka.CODES.ERRORS.ERR__QUEUE_FULL })
  client().throws.push(queueFull, queueFull)
  const batch = send(producer, [record('out', 'a')], [1])
  await waitFor('the record produced', () => client().produced.length === 1, 2000, 1)
  assert.ok(client().polls >= 2, 'the client was polled to make room')
  client().report(0)
  assert.deepEqual(batch.outcome(), { failedAt: undefined, error: undefined, sent: false })
})

test('a record produce() refuses fails its message and every later one; the earlier ones are delivered', async () => {
  const { producer, client } = setup()
  await producer.connect()
  client().throws.push(undefined, undefined, Object.assign(new Error('Broker: Message size too large'), { code: Kafka.CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE }))
  // Messages 0 and 1 produced 2 and 2 records; the third record (message 1's first) is refused.
  const batch = send(producer, [record('out', 'a'), record('out', 'b'), record('out', 'c'), record('out', 'd')], [2, 2])
  await waitFor('the first records handed over', () => client().produced.length === 2, 2000, 1)
  client().report(0)
  client().report(1)
  const outcome = batch.outcome()
  assert.equal(outcome?.failedAt, 1)
  assert.match(outcome?.error?.message ?? '', /^producing a record to topic 'out' failed: Broker: Message size too large/)
  assert.equal(outcome?.sent, false, 'none of message 1’s records reached the producer')
  assert.equal(client().produced.length, 2, 'nothing after the refused record is sent')
})

test('at-least-once: a fatal error drops the client, and the next record connects a new one', async () => {
  const { producer, client, clients } = setup()
  await producer.connect()
  client(0).throws.push(Object.assign(new Error('Fatal error: producer id refused'), { code: Kafka.CODES.ERRORS.ERR__FATAL }))
  const batch = send(producer, [record('out', 'a')], [1])
  await waitFor('the batch failed', () => batch.runs() === 1, 2000, 1)
  assert.equal(batch.outcome()?.failedAt, 0)
  await waitFor('the fatal client closed', () => client(0).calls.includes('disconnect'), 2000, 1)
  const next = send(producer, [record('out', 'b')], [1])
  await waitFor('a new client', () => clients.length === 2 && client(1).produced.length === 1, 2000, 1)
  client(1).report(0)
  assert.deepEqual(next.outcome(), { failedAt: undefined, error: undefined, sent: false })
  // A dead letter refused by a fatal client drops it too.
  client(1).throws.push(Object.assign(new Error('Fatal error'), { code: Kafka.CODES.ERRORS.ERR__FATAL }))
  await assert.rejects(producer.produce('dlq', Buffer.from('x'), null, undefined), (error: KvpError) => error.code === ErrorCodes.KAFKA)
  const letter = producer.produce('dlq', Buffer.from('x'), null, undefined)
  await waitFor('a third client', () => clients.length === 3 && client(2).produced.length === 1, 2000, 1)
  client(2).report(0)
  await letter
})

test('a non-fatal produce() error keeps the client', async () => {
  const { producer, client, clients } = setup()
  await producer.connect()
  client().throws.push(Object.assign(new Error('Broker: Message size too large'), { code: Kafka.CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE }))
  const batch = send(producer, [record('out', 'a')], [1])
  await waitFor('the batch failed', () => batch.runs() === 1, 2000, 1)
  const next = send(producer, [record('out', 'b')], [1])
  await waitFor('the record produced', () => client().produced.length === 1, 2000, 1)
  client().report(0)
  assert.equal(next.outcome()?.failedAt, undefined)
  assert.equal(clients.length, 1)
  assert.deepEqual(client().calls, [])
})

test('produce() (dead letters) resolves on a delivery report and rejects with KVP_PRODUCE on a failed one', async () => {
  const { producer, client } = setup()
  const landed = producer.produce('dlq', Buffer.from('x'), 'k', [{ h: 'v' }])
  await waitFor('the dead letter handed over', () => client().produced.length === 1, 2000, 1)
  client().report(0)
  await landed
  const refused = producer.produce('dlq', Buffer.from('y'), null, undefined)
  await waitFor('the second handed over', () => client().produced.length === 2, 2000, 1)
  client().report(1, DENIED)
  await assert.rejects(refused, (error: KvpError) => error.code === ErrorCodes.PRODUCE && /^a record to topic 'dlq' was not delivered: /.test(error.message))
})

test('a producer that cannot connect fails the batch, and the next record tries again', async () => {
  const { producer, connectFailures, clients, client } = setup()
  connectFailures.push(new Error('could not connect a producer to b:1: Local: Broker transport failure'))
  const batch = send(producer, [record('out', 'a'), record('out', 'b')], [1, 1])
  await waitFor('the batch failed', () => batch.runs() === 1, 2000, 1)
  assert.equal(batch.outcome()?.failedAt, 0)
  assert.match(batch.outcome()?.error?.message ?? '', /^could not connect the producer: /)
  const next = send(producer, [record('out', 'c')], [1])
  await waitFor('a client', () => clients.length === 1 && client().produced.length === 1, 2000, 1)
  client().report(0)
  assert.equal(next.outcome()?.failedAt, undefined)
})

test('kvp’s settings win over the user’s: idempotence always on, the transactional id from the option; the rest pass through', async () => {
  const { producer, settings } = setup({ transactionalId: 'tx-1', settings: { 'linger.ms': 50, 'compression.type': 'lz4', 'enable.idempotence': false, 'transactional.id': 'theirs' } })
  await producer.connect()
  assert.equal(settings[0]?.['enable.idempotence'], true)
  assert.equal(settings[0]?.['transactional.id'], 'tx-1')
  assert.equal(settings[0]?.['linger.ms'], 50)
  assert.equal(settings[0]?.['compression.type'], 'lz4')
})

test('exactly-once: records wait while a transaction commits, then begin the next transaction', async () => {
  const { producer, client } = setup({ transactionalId: 'tx' })
  await producer.connect()
  assert.deepEqual(client().calls, ['initTransactions'])
  const first = send(producer, [record('out', 'a')], [1])
  await waitFor('the first record', () => client().produced.length === 1, 2000, 1)
  assert.equal(producer.transactionOpen, true)
  client().report(0)
  assert.equal(first.outcome()?.failedAt, undefined)
  client().held.set('commitTransaction', undefined)
  const committing = producer.commitTransaction([{ topic: 'in', partition: 0, offset: 1 }], {} as Kafka.KafkaConsumer, 5000)
  await waitFor('the commit asked for', () => client().calls.includes('commitTransaction'), 2000, 1)
  const second = send(producer, [record('out', 'b')], [1])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(client().produced.length, 1, 'a record handed over during the commit waits at the gate')
  client().release('commitTransaction')
  await committing
  await waitFor('the waiting record sent', () => client().produced.length === 2, 2000, 1)
  assert.deepEqual(client().calls, ['initTransactions', 'beginTransaction', 'sendOffsetsToTransaction', 'commitTransaction', 'beginTransaction'])
  client().report(1)
  assert.equal(second.outcome()?.failedAt, undefined)
})

test('exactly-once: a retriable commit failure is retried; records handed over before an abort are not sent into the next transaction', async () => {
  const { producer, client } = setup({ transactionalId: 'tx' })
  const first = send(producer, [record('out', 'a')], [1])
  await waitFor('the first record', () => client().produced.length === 1, 2000, 1)
  client().report(0)
  assert.equal(first.outcome()?.failedAt, undefined)
  client().failures.set('commitTransaction', [Object.assign(new Error('Broker: Coordinator load in progress'), { isRetriable: true })])
  await producer.commitTransaction([], {} as Kafka.KafkaConsumer, 5000)
  assert.deepEqual(client().calls.slice(-2), ['commitTransaction', 'commitTransaction'], 'retried')

  // The next record begins a transaction; an abort comes while it waits for the begin.
  client().held.set('beginTransaction', undefined)
  const late = send(producer, [record('out', 'b')], [1])
  await waitFor('the next transaction begun', () => client().calls.filter((call) => call === 'beginTransaction').length === 2, 2000, 1)
  const aborting = producer.abortTransaction(5000)
  client().release('beginTransaction')
  await aborting
  await waitFor('the late batch done', () => late.runs() === 1, 2000, 1)
  assert.equal(late.outcome()?.failedAt, 0)
  assert.match(late.outcome()?.error?.message ?? '', /the transaction aborted before these records were sent/)
  assert.equal(client().produced.length, 1, 'the late record was never produced')
  assert.equal(client().calls.at(-1), 'abortTransaction')
  assert.equal(producer.transactionOpen, false)
})

test('exactly-once: a commit that fails for good throws, and records wait until the abort', async () => {
  const { producer, client } = setup({ transactionalId: 'tx' })
  send(producer, [record('out', 'a')], [1])
  await waitFor('the record', () => client().produced.length === 1, 2000, 1)
  client().report(0)
  client().failures.set('commitTransaction', [Object.assign(new Error('Broker: Producer fenced'), { isTxnRequiresAbort: true })])
  await assert.rejects(producer.commitTransaction([], {} as Kafka.KafkaConsumer, 5000), (error: KvpError) => error.code === ErrorCodes.TRANSACTION && /commitTransaction failed/.test(error.message))
  const waiting = send(producer, [record('out', 'b')], [1])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(client().produced.length, 1, 'the gate stays closed after a failed commit')
  await producer.abortTransaction(5000)
  await waitFor('the waiting batch done', () => waiting.runs() === 1, 2000, 1)
  assert.match(waiting.outcome()?.error?.message ?? '', /the transaction aborted before these records were sent/)
})
