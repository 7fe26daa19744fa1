/**
 * Delivery gating with a fake pool and a fake producer: a slice whose handlers produced
 * records is applied only once every record is delivered, and a failed delivery cuts the
 * ack short at the message that produced the record.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { OutputRecordsWriter } from '../../../src/codec/output-records.js'
import type { DecodedOutput } from '../../../src/codec/output-records.js'
import { decodeTask } from '../../../src/codec/slice-codec.js'
import type { TaskMessage, WireSlice, WireSliceAck } from '../../../src/codec/slice-codec.js'
import { SliceProgress } from '../../../src/codec/slice-progress.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import { Dispatcher } from '../../../src/dispatch/dispatcher.js'
import type { DispatcherHooks, SlicePool } from '../../../src/dispatch/dispatcher.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import { ErrorCodes, KvpError } from '../../../src/errors.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

class FakePool implements SlicePool {
  readonly threads = 1
  readonly slices: WireSlice[] = []
  pick(): number | undefined {
    return 1
  }
  room(): number {
    return 64
  }
  send(_session: number, message: TaskMessage): void {
    this.slices.push(...decodeTask(message.task).slices)
  }
  done(): void {}
  abort(): void {}
}

interface Send {
  records: DecodedOutput[]
  counts: readonly number[]
  done: (failedAt: number | undefined, error: KvpError | undefined, sent: boolean) => void
}

function setup() {
  const options = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: false, retry: { maxAttempts: 5, backoffMs: 1 } }] })
  const route = options.routes[0]
  assert.ok(route)
  const pool = new FakePool()
  const sends: Send[] = []
  const hooks: DispatcherHooks = {
    watermarkMoved: () => {},
    fetched: () => {},
    acksApplied: () => {},
    deadLetter: () => Promise.resolve(),
    produce: (records, counts, done) => sends.push({ records, counts, done }),
  }
  const dispatcher = new Dispatcher(options, pool, new SliceProgress(16), hooks)
  const state = new PartitionState('t', 0, route, 1, createKeyExtractor(route.partitioner, 'p'), createDistributor(route.distribution, route.lanes))
  return { dispatcher, pool, sends, state }
}

function batch(count: number): KafkaMessage[] {
  return Array.from({ length: count }, (_, i) => ({ topic: 't', partition: 0, offset: i, key: Buffer.from('k'), value: Buffer.from(`v${i}`), size: 2 }))
}

/** An ack of `slice` with one output record per handled message. */
function ackWithOutputs(slice: WireSlice, handled = slice.count): WireSliceAck {
  const writer = new OutputRecordsWriter()
  for (let i = 0; i < handled; i++) writer.add({ topic: 'out', value: `r${i}` })
  return { id: slice.id, handled, marked: handled, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 1, outputs: writer.finish(), outputCounts: new Array(handled).fill(1) }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('delivery gating', () => {
  test('the watermark does not move until every record of the slice is delivered, and the lane gets no next slice meanwhile', async () => {
    const { dispatcher, pool, sends, state } = setup()
    dispatcher.accept(state, batch(3))
    dispatcher.flush()
    const slice = pool.slices[0] as WireSlice
    dispatcher.acks([ackWithOutputs(slice)])
    assert.equal(sends.length, 1)
    assert.deepEqual(
      sends[0]?.records.map((r) => r.value?.toString()),
      ['r0', 'r1', 'r2'],
    )
    assert.deepEqual(sends[0]?.counts, [1, 1, 1])
    assert.equal(state.watermark(), 0, 'nothing is done before the delivery reports')
    dispatcher.accept(state, batch(5).slice(3))
    dispatcher.flush()
    await tick()
    assert.equal(pool.slices.length, 1, 'the lane keeps its one slice in flight while its records are delivered')
    assert.equal(dispatcher.slicesInFlight, 1)
    const drained = dispatcher.drain(1000, [state])
    sends[0]?.done(undefined, undefined, false)
    assert.equal(state.watermark(), 3)
    assert.equal(await drained, true, 'a drain waits for the delivery, then wakes')
    await tick()
    assert.equal(pool.slices.length, 2, 'the lane runs again after the delivery')
  })

  test('a failed delivery counts the messages before the one that produced the record as done, and that message fails with KVP_PRODUCE for a retry', async () => {
    const { dispatcher, pool, sends, state } = setup()
    dispatcher.accept(state, batch(4))
    dispatcher.flush()
    const slice = pool.slices[0] as WireSlice
    dispatcher.acks([ackWithOutputs(slice)])
    sends[0]?.done(2, new KvpError(ErrorCodes.PRODUCE, 'a record to topic out was not delivered: Broker: Message size too large'), true)
    assert.equal(state.watermark(), 2, 'messages 0 and 1 are done, message 2 is not')
    assert.equal(state.failures, 1)
    await new Promise((resolve) => setTimeout(resolve, 30))
    const retry = pool.slices[1]
    assert.ok(retry, 'the failed message is retried')
    assert.equal(retry.attempt, 2)
    assert.equal(retry.count, 2, 'the retry starts at the message whose record failed')
  })

  test('an ack without output records is applied at once', () => {
    const { dispatcher, pool, sends, state } = setup()
    dispatcher.accept(state, batch(2))
    dispatcher.flush()
    const slice = pool.slices[0] as WireSlice
    dispatcher.acks([{ id: slice.id, handled: 2, marked: 2, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 1 }])
    assert.equal(sends.length, 0)
    assert.equal(state.watermark(), 2)
  })
})
