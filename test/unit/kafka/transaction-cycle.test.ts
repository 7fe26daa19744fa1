import { strict as assert } from 'node:assert'
import { test, type TestContext } from 'node:test'
import type Kafka from 'node-rdkafka'
import { channels } from '../../../src/diagnostics.js'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { ErrorCodes, KvpError } from '../../../src/errors.js'
import type { OutputProducer } from '../../../src/kafka/output-producer.js'
import { TransactionCycle } from '../../../src/kafka/transaction-cycle.js'
import { collectEvents } from '../../helpers/events.js'
import { waitFor } from '../../helpers/kafka.js'
import { fetchMessages, handleAll, partitionState } from '../../helpers/partitions.js'

type Flags = { isFatal?: boolean; isTxnRequiresAbort?: boolean; isRetriable?: boolean }

/** A failure of a transaction call, with librdkafka's flags. */
function txnError(message: string, flags: Flags): Error {
  return Object.assign(new Error(message), flags)
}

/** The producer as the cycle uses it: it logs each transaction call, and fails the ones it is told to. */
function fakeProducer() {
  const calls: string[] = []
  const committedOffsets: Kafka.TopicPartitionOffset[][] = []
  const failures: { commit?: Error; abort?: Error } = {}
  let open = false
  const producer = {
    get transactionOpen() {
      return open
    },
    async commitTransaction(offsets: Kafka.TopicPartitionOffset[]) {
      calls.push('commit')
      if (failures.commit) throw failures.commit
      committedOffsets.push(offsets.map((o) => ({ ...o })))
      open = false
    },
    async abortTransaction() {
      calls.push('abort')
      if (failures.abort) throw failures.abort
      open = false
    },
    async replace() {
      calls.push('replace')
      open = false
    },
  }
  return { producer: producer as unknown as OutputProducer, calls, committedOffsets, failures, begin: () => (open = true) }
}

/** The consumer as the cycle uses it: the group's committed offsets, as the coordinator would answer. */
function fakeConsumer() {
  const group = new Map<string, number>()
  let failing: Error | undefined
  const consumer = {
    committed(toppars: Kafka.TopicPartition[], _timeout: number, cb: (err: Error | null, offsets: Kafka.TopicPartitionOffset[]) => void) {
      setImmediate(() => {
        if (failing) cb(failing, [])
        else
          cb(
            null,
            toppars.map(({ topic, partition }) => ({ topic, partition, offset: group.get(`${topic}[${partition}]`) ?? -1001 })),
          )
      })
    },
  }
  return {
    consumer: consumer as unknown as Kafka.KafkaConsumer,
    setCommitted: (state: PartitionState, offset: number) => group.set(`${state.topic}[${state.partition}]`, offset),
    fail: (error: Error | undefined) => {
      failing = error
    },
  }
}

interface Rewind {
  targets: Array<{ partition: number; offset: number }>
  delayMs: number
}

function setup(t: TestContext, states: PartitionState[], options: { timeoutMs?: number; intervalMs?: number } = {}) {
  const producer = fakeProducer()
  const consumer = fakeConsumer()
  const rewinds: Rewind[] = []
  const unsealed: PartitionState[][] = []
  const cycle = new TransactionCycle(
    {
      producer: producer.producer,
      consumer: consumer.consumer,
      states: () => states.filter((state) => !state.revoked),
      unsealed: (list) => unsealed.push(list),
      rewind: async (targets, delayMs) => {
        rewinds.push({ targets: targets.map(({ state, offset }) => ({ partition: state.partition, offset })), delayMs })
      },
    },
    { intervalMs: options.intervalMs ?? 60_000, timeoutMs: options.timeoutMs ?? 2000 },
  )
  t.after(() => cycle.stop())
  return { ...producer, ...consumer, cycle, rewinds, unsealed }
}

/** A partition that fetched `count` messages from 0; `started`: slices started all of them (a seal covers them). */
function fetched(partition: number, count: number, started = true): PartitionState {
  const state = partitionState('t', partition, { deadLetter: { topic: 'dlq' }, retry: { maxAttempts: 2 } })
  fetchMessages(state, 0, count)
  if (started) for (const lane of state.lanes) if (lane && lane.size > 0) state.startedUpTo(lane.seqAt(lane.size - 1))
  return state
}

const deliveryError = (): KvpError => new KvpError(ErrorCodes.PRODUCE, "a record to topic 'out' was not delivered: topic authorization failed")

test('closing commits the transaction with each partition’s watermark as its consumed offsets, then lifts the seals', async (t) => {
  const events = collectEvents(t, channels.transaction)
  const a = fetched(0, 5)
  const b = fetched(1, 3)
  const { cycle, committedOffsets, calls, unsealed, rewinds } = setup(t, [a, b])
  handleAll(a)
  handleAll(b)
  assert.equal(await cycle.close('interval'), 'committed')
  assert.deepEqual(committedOffsets, [
    [
      { topic: 't', partition: 0, offset: 5 },
      { topic: 't', partition: 1, offset: 3 },
    ],
  ])
  assert.deepEqual(calls, ['commit'])
  assert.equal(a.committed, 5)
  assert.equal(b.committed, 3)
  assert.equal(cycle.commits, 1)
  assert.deepEqual(rewinds, [])
  assert.equal(a.sealedAt, undefined, 'unsealed after the commit')
  assert.deepEqual(unsealed, [[a, b]])
  assert.deepEqual(
    events.map((e) => [e.outcome, e.reason]),
    [['commit', 'interval']],
  )
})

test('a transaction closes only once every message before the seal is done', async (t) => {
  const state = fetched(0, 4)
  const { cycle, committedOffsets } = setup(t, [state])
  let outcome: string | undefined
  const closing = cycle.close('interval').then((result) => (outcome = result))
  assert.equal(state.sealedAt, 4, 'sealed at what slices started')
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(outcome, undefined, 'still waiting for the sealed messages')
  assert.deepEqual(committedOffsets, [])
  handleAll(state)
  cycle.watermarkMoved()
  assert.equal(await closing, 'committed')
  assert.deepEqual(committedOffsets, [[{ topic: 't', partition: 0, offset: 4 }]])
})

test('nothing done since the last commit and no transaction open: nothing is committed', async (t) => {
  const state = fetched(0, 2)
  const { cycle, calls } = setup(t, [state])
  handleAll(state)
  assert.equal(await cycle.close('interval'), 'committed')
  assert.equal(await cycle.close('interval'), 'empty')
  assert.deepEqual(calls, ['commit'])
})

test('a transaction with records but no new offsets still commits (its records must not hang open)', async (t) => {
  const state = fetched(0, 2)
  const { cycle, calls, begin, committedOffsets } = setup(t, [state])
  handleAll(state)
  await cycle.close('interval')
  begin()
  assert.equal(await cycle.close('interval'), 'committed')
  assert.deepEqual(calls, ['commit', 'commit'])
  assert.deepEqual(committedOffsets[1], [])
})

test('a failed delivery aborts the open transaction at once, fences its partitions and rewinds them to the group’s committed offsets after a backoff', async (t) => {
  const events = collectEvents(t, channels.transaction)
  const a = fetched(0, 6)
  const b = fetched(1, 4)
  const { cycle, calls, rewinds, setCommitted, begin } = setup(t, [a, b])
  setCommitted(a, 2)
  // Partition 1 has no committed offset: it rewinds to the first offset it fetched.
  begin()
  cycle.outputFailed(a, 2, deliveryError())
  await waitFor('the abort', () => rewinds.length === 1, 5000, 5)
  assert.deepEqual(calls, ['abort'])
  assert.deepEqual(rewinds[0]?.targets, [
    { partition: 0, offset: 2 },
    { partition: 1, offset: 0 },
  ])
  assert.ok((rewinds[0]?.delayMs ?? 0) >= 50, `a delivery failure waits before running it all again (${rewinds[0]?.delayMs} ms)`)
  assert.ok(a.revoked && b.revoked, 'their in-flight acks are stale from now on')
  assert.equal(cycle.aborts, 1)
  await waitFor('the abort event', () => events.length === 1, 5000, 5)
  const abort = events[0]
  assert.ok(abort?.outcome === 'abort')
  assert.equal(abort.reason, 'delivery failure')
  assert.match(String((abort.error as Error).message), /was not delivered/)
  assert.deepEqual(abort.rewound, [
    { topic: 't', partition: 0, offset: 2 },
    { topic: 't', partition: 1, offset: 0 },
  ])
})

test('a failed delivery while a transaction closes dooms it: it aborts instead of committing', async (t) => {
  const state = fetched(0, 3)
  const { cycle, calls, rewinds } = setup(t, [state])
  const closing = cycle.close('interval')
  cycle.outputFailed(state, 1, deliveryError())
  assert.equal(await closing, 'aborted')
  assert.deepEqual(calls, ['abort'], 'never committed')
  assert.deepEqual(rewinds[0]?.targets, [{ partition: 0, offset: 0 }])
})

test('a commit that fails (abortable) aborts and rewinds to what the coordinator says is committed, at once', async (t) => {
  const state = fetched(0, 5)
  const { cycle, calls, failures, rewinds, setCommitted } = setup(t, [state])
  state.offsetCommitted(1)
  setCommitted(state, 3)
  handleAll(state)
  failures.commit = txnError('commitTransaction failed: Broker: Producer fenced', { isTxnRequiresAbort: true })
  assert.equal(await cycle.close('interval'), 'aborted')
  assert.deepEqual(calls, ['commit', 'abort'])
  assert.deepEqual(rewinds, [{ targets: [{ partition: 0, offset: 3 }], delayMs: 0 }], 'the coordinator’s offset wins over the last commit seen (a commit may have landed there)')
  assert.equal(state.committed, 1, 'nothing is counted committed')
})

test('a fatal error replaces the producer instead of aborting', async (t) => {
  const state = fetched(0, 2)
  const { cycle, calls, failures } = setup(t, [state])
  handleAll(state)
  failures.commit = txnError('commitTransaction failed: fenced', { isFatal: true })
  assert.equal(await cycle.close('interval'), 'aborted')
  assert.deepEqual(calls, ['commit', 'replace'])
})

test('an abort that fails replaces the producer, and the partitions still rewind', async (t) => {
  const state = fetched(0, 2)
  const { cycle, calls, failures, rewinds } = setup(t, [state])
  handleAll(state)
  failures.commit = txnError('commit failed', { isTxnRequiresAbort: true })
  failures.abort = txnError('abort failed', {})
  assert.equal(await cycle.close('interval'), 'aborted')
  assert.deepEqual(calls, ['commit', 'abort', 'replace'])
  assert.equal(rewinds.length, 1)
})

test('messages that do not finish within the timeout abort the transaction, blaming the first unfinished one', async (t) => {
  const state = fetched(0, 3)
  const { cycle, calls, rewinds } = setup(t, [state], { timeoutMs: 100 })
  assert.equal(await cycle.close('interval'), 'aborted')
  assert.deepEqual(calls, ['abort'])
  assert.deepEqual(rewinds[0]?.targets, [{ partition: 0, offset: 0 }])
  assert.equal(cycle.undeliverable(state, 0), undefined, 'one aborted transaction is below maxAttempts (2)')
})

test('a message whose records fail in as many transactions as its route allows attempts is undeliverable (then dead-lettered); not before, and not without a dead-letter topic', async (t) => {
  const state = fetched(0, 3)
  const plain = partitionState('t', 1, { retry: { maxAttempts: 2 } })
  fetchMessages(plain, 0, 3)
  const states = [state, plain]
  const { cycle, rewinds } = setup(t, states)
  cycle.outputFailed(state, 1, deliveryError())
  cycle.outputFailed(plain, 1, deliveryError())
  cycle.outputFailed(state, 1, deliveryError())
  await waitFor('the first abort', () => rewinds.length === 1, 5000, 5)
  assert.equal(cycle.undeliverable(state, 1), undefined, 'one transaction, counted once')
  // The engine fetches the partition again after a rewind: a new state of the same partition.
  const again = fetched(0, 3)
  states.push(again)
  cycle.outputFailed(again, 1, deliveryError())
  await waitFor('the second abort', () => rewinds.length === 2, 5000, 5)
  assert.equal(cycle.undeliverable(again, 1), 2)
  assert.equal(cycle.undeliverable(again, 0), undefined, 'only the message that failed')
  assert.equal(cycle.undeliverable(plain, 1), undefined, 'no dead-letter topic: retried for ever')
})

test('partitions that are leaving are not rewound (their next owner starts from the commit); rewind: false rewinds none', async (t) => {
  const staying = fetched(0, 2)
  const leaving = fetched(1, 2)
  const { cycle, rewinds, failures } = setup(t, [staying, leaving])
  handleAll(staying)
  handleAll(leaving)
  failures.commit = txnError('commit failed', { isTxnRequiresAbort: true })
  assert.equal(await cycle.close('revoke', { leaving: [leaving] }), 'aborted')
  assert.deepEqual(rewinds[0]?.targets, [{ partition: 0, offset: 0 }])
  const other = fetched(2, 2)
  const second = setup(t, [other])
  second.failures.commit = txnError('commit failed', { isTxnRequiresAbort: true })
  handleAll(other)
  assert.equal(await second.cycle.close('stop', { rewind: false }), 'aborted')
  assert.deepEqual(second.rewinds, [])
})

test('when the coordinator cannot say what is committed, the rewind falls back to the last commit seen and the error is published', async (t) => {
  const errors = collectEvents(t, channels.kafkaError)
  const state = fetched(0, 5)
  const { cycle, rewinds, failures, fail } = setup(t, [state], { timeoutMs: 300 })
  state.offsetCommitted(2)
  handleAll(state)
  failures.commit = txnError('commit failed', { isTxnRequiresAbort: true })
  fail(new Error('Local: Timed out'))
  assert.equal(await cycle.close('interval'), 'aborted')
  assert.deepEqual(rewinds[0]?.targets, [{ partition: 0, offset: 2 }])
  assert.ok(
    errors.some((e) => /could not read the committed offsets to rewind to: Local: Timed out/.test((e.error as Error).message)),
    'published on kvp:kafka-error',
  )
})

test('closes run one at a time: a close asked for during one waits for it', async (t) => {
  const state = fetched(0, 2)
  const { cycle, calls } = setup(t, [state])
  const first = cycle.close('interval')
  const second = cycle.close('stop')
  handleAll(state)
  cycle.watermarkMoved()
  assert.deepEqual(await Promise.all([first, second]), ['committed', 'empty'])
  assert.deepEqual(calls, ['commit'])
})

test('started, the cycle closes a transaction every interval', async (t) => {
  const events = collectEvents(t, channels.transaction)
  const state = fetched(0, 2)
  const { cycle } = setup(t, [state], { intervalMs: 20 })
  handleAll(state)
  cycle.start()
  await waitFor('a commit on the interval', () => events.some((e) => e.outcome === 'commit' && e.reason === 'interval'), 5000, 5)
  assert.equal(state.committed, 2)
})
