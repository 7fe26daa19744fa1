/**
 * The dispatcher with a fake pool: what it sends, what acks do to lanes, partitions and
 * watermarks, and how failures, revokes, drains and dead threads are handled. No threads,
 * no broker.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { decodeTask } from '../../../src/codec/slice-codec.js'
import type { TaskMessage, WireSlice, WireSliceAck } from '../../../src/codec/slice-codec.js'
import { SliceProgress, progressReporter } from '../../../src/codec/slice-progress.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import type { TopicRoute } from '../../../src/config/options.js'
import { channels } from '../../../src/diagnostics.js'
import type { StaleAckEvent } from '../../../src/diagnostics.js'
import { Dispatcher } from '../../../src/dispatch/dispatcher.js'
import type { DispatcherHooks, SlicePool } from '../../../src/dispatch/dispatcher.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import type { KvpError } from '../../../src/errors.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

interface Sent {
  session: number
  slices: WireSlice[]
}

/** A pool of `threads` sessions with `room` slice places each, recording every task. */
class FakePool implements SlicePool {
  readonly threads: number
  readonly sent: Sent[] = []
  readonly aborted: number[] = []
  readonly #room: number
  readonly #inFlight = new Map<number, number>()

  constructor(threads = 1, room = 64) {
    this.threads = threads
    this.#room = room
    for (let s = 1; s <= threads; s++) this.#inFlight.set(s, 0)
  }

  pick(): number | undefined {
    for (const [session, slices] of this.#inFlight) if (slices < this.#room) return session
    return undefined
  }

  room(session: number): number {
    return this.#room - (this.#inFlight.get(session) ?? this.#room)
  }

  send(session: number, message: TaskMessage, slices: number): void {
    this.#inFlight.set(session, (this.#inFlight.get(session) ?? 0) + slices)
    this.sent.push({ session, slices: decodeTask(message.task).slices })
  }

  done(): void {}

  abort(session: number): void {
    this.aborted.push(session)
  }

  /** Every slice sent so far, oldest first. */
  slices(): WireSlice[] {
    return this.sent.flatMap((task) => task.slices)
  }

  /** The slices' places are free again (the dispatcher acks them). */
  free(session: number, count: number): void {
    this.#inFlight.set(session, (this.#inFlight.get(session) ?? 0) - count)
  }
}

interface Recorded {
  watermarks: number[]
  fetched: number
  acksApplied: number
  deadLetters: Array<{ offset: number; error: KvpError; attempts: number }>
}

function setup(route: Partial<TopicRoute> = {}, options: { threads?: number; room?: number; deadLetter?: () => Promise<void> } = {}) {
  const resolved = resolveOptions({ groupId: 'g', threads: 2, topics: [{ topic: 't', handler: 'h.js', virtualPartitions: { lanes: 4 }, ...route }] })
  const routeOptions = resolved.routes[0]
  assert.ok(routeOptions)
  const pool = new FakePool(options.threads ?? 1, options.room ?? 64)
  const progress = new SliceProgress(64)
  const recorded: Recorded = { watermarks: [], fetched: 0, acksApplied: 0, deadLetters: [] }
  const hooks: DispatcherHooks = {
    watermarkMoved: (state) => recorded.watermarks.push(state.watermark() as number),
    fetched: () => recorded.fetched++,
    acksApplied: () => recorded.acksApplied++,
    deadLetter: (_state, message, error, attempts) => {
      recorded.deadLetters.push({ offset: message.offset, error, attempts })
      return options.deadLetter ? options.deadLetter() : Promise.resolve()
    },
  }
  const dispatcher = new Dispatcher(resolved, pool, progress, hooks)
  const partition = (generation = 1, index = 0): PartitionState =>
    new PartitionState('t', index, routeOptions, generation, createKeyExtractor(routeOptions.partitioner, 'p'), createDistributor(routeOptions.distribution, routeOptions.lanes))
  return { dispatcher, pool, progress, recorded, partition }
}

function batch(from: number, keys: string[], partition = 0): KafkaMessage[] {
  return keys.map((key, i) => ({ topic: 't', partition, offset: from + i, key: Buffer.from(key), value: Buffer.from(`v${from + i}`), size: 2 }))
}

function ack(slice: WireSlice, fields: Partial<WireSliceAck> = {}): WireSliceAck {
  return { id: slice.id, handled: slice.count, marked: slice.count, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 1, ...fields }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('Dispatcher', () => {
  test("one flush sends one slice per lane with messages, each lane's messages in offset order", () => {
    const { dispatcher, pool, partition, recorded } = setup()
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'b', 'a', 'c', 'b', 'a']))
    assert.equal(recorded.fetched, 1, 'the fetched hook ran for the batch')
    dispatcher.flush()
    const slices = pool.slices()
    assert.equal(pool.sent.length, 1, 'one task carries every lane')
    assert.equal(
      slices.reduce((n, s) => n + s.count, 0),
      6,
    )
    assert.equal(new Set(slices.map((s) => s.lane)).size, slices.length, 'at most one slice per lane')
    assert.ok(slices.every((s) => s.attempt === 1))
  })

  test('a busy lane gets no second slice; what it queued meanwhile goes out together after its ack', async () => {
    const { dispatcher, pool, partition } = setup({ virtualPartitions: { lanes: 1 } })
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'a']))
    dispatcher.flush()
    dispatcher.accept(state, batch(2, ['a', 'a', 'a']))
    dispatcher.flush()
    assert.equal(pool.slices().length, 1, 'the lane is busy: nothing more is sent')
    const first = pool.slices()[0] as WireSlice
    pool.free(1, 1)
    dispatcher.acks([ack(first)])
    await tick()
    const second = pool.slices()[1]
    assert.ok(second, 'the lane was sent again after its ack')
    assert.equal(second.count, 3, 'the three queued messages travel in one slice')
  })

  test('acks move the watermark as far as the contiguous done offsets, and the partition counts them', () => {
    const { dispatcher, pool, partition, recorded } = setup()
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'b', 'c', 'd']))
    dispatcher.flush()
    const slices = pool.slices()
    // Ack every lane except the one holding offset 0: nothing may be committed yet.
    const holdsZero = slices.find((s) => state.lanes[s.lane]?.headOffset() === 0) as WireSlice
    assert.ok(slices.length > 1, 'the keys spread over more than one lane')
    dispatcher.acks(slices.filter((s) => s !== holdsZero).map((s) => ack(s)))
    assert.equal(state.watermark(), 0, 'offset 0 is not done: the watermark stays at 0')
    dispatcher.acks([ack(holdsZero)])
    assert.equal(state.watermark(), 4)
    assert.equal(state.handled, 4)
    assert.equal(state.inFlight, 0)
    assert.equal(recorded.watermarks.at(-1), 4)
    assert.ok(recorded.acksApplied >= 2)
  })

  test('a failed slice keeps its handled messages done and retries the failed one in its lane, with the next attempt number', async () => {
    const { dispatcher, pool, partition } = setup({ virtualPartitions: { lanes: 1 }, retry: { backoffMs: 5, maxBackoffMs: 5 } })
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'a', 'a']))
    dispatcher.flush()
    const first = pool.slices()[0] as WireSlice
    pool.free(1, 1)
    dispatcher.acks([ack(first, { handled: 1, marked: 1, failed: true, errorMessage: 'boom', errorCode: 'KVP_HANDLER' })])
    assert.equal(state.watermark(), 1, 'the handled message is done')
    assert.equal(state.failures, 1)
    const lane = state.lanes[0]
    assert.ok(lane?.waiting, 'the lane waits out its backoff')
    // The failed message is the head again; its first attempt failed, so it runs as attempt 2.
    await sleep(30)
    const retry = pool.slices()[1]
    assert.ok(retry, 'the lane was sent again after the backoff')
    assert.equal(retry.count, 2, 'from the failed message on')
    assert.equal(retry.attempt, 2, "the failed message's second attempt")
    pool.free(1, 1)
    dispatcher.acks([ack(retry, { handled: 0, marked: 0, failed: true, errorMessage: 'again', errorCode: 'KVP_HANDLER' })])
    await sleep(30)
    const third = pool.slices()[2]
    assert.ok(third)
    assert.equal(third.attempt, 3, 'each failure of the same head message counts one more attempt')
    assert.equal(state.watermark(), 1, 'nothing past the failing message is committed')
  })

  test('a message whose attempts are spent is dead-lettered, and counts as done only once the write is delivered', async () => {
    let deliver: () => void = () => {}
    const delivered = new Promise<void>((resolve) => {
      deliver = resolve
    })
    const { dispatcher, pool, partition, recorded } = setup({ virtualPartitions: { lanes: 1 }, retry: { maxAttempts: 1 }, deadLetter: { topic: 't-dlq' } }, { deadLetter: () => delivered })
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'a']))
    dispatcher.flush()
    pool.free(1, 1)
    dispatcher.acks([ack(pool.slices()[0] as WireSlice, { handled: 0, marked: 0, failed: true, errorMessage: 'poison', errorCode: 'KVP_HANDLER' })])
    assert.deepEqual(
      recorded.deadLetters.map((d) => [d.offset, d.attempts, d.error.message]),
      [[0, 1, 'poison']],
    )
    assert.equal(state.watermark(), 0, 'not done before the delivery report')
    deliver()
    await sleep(1)
    assert.equal(state.deadLettered, 1)
    assert.equal(state.watermark(), 1, 'done after the delivery report')
    await tick()
    assert.equal(pool.slices()[1]?.count, 1, 'the lane goes on with the next message')
  })

  test('an ack that arrives after its partition was revoked is dropped: nothing is committed, and it is published as stale', () => {
    const { dispatcher, pool, partition, recorded } = setup()
    const state = partition(3)
    dispatcher.accept(state, batch(0, ['a']))
    dispatcher.flush()
    const stale: StaleAckEvent[] = []
    const unsubscribe = channels.staleAck.subscribe((event) => stale.push(event))
    try {
      state.revoke()
      dispatcher.acks([ack(pool.slices()[0] as WireSlice)])
    } finally {
      unsubscribe()
    }
    assert.equal(state.watermark(), 0)
    assert.deepEqual(recorded.watermarks, [])
    assert.deepEqual(
      stale.map((e) => [e.topic, e.partition, e.generation, e.handled]),
      [['t', 0, 3, 1]],
    )
  })

  test('a draining partition starts no new slice, and drain() of it waits for its own slices only', async () => {
    const { dispatcher, pool, partition } = setup({}, { room: 64 })
    const mine = partition(1, 0)
    const other = partition(1, 1)
    dispatcher.accept(mine, batch(0, ['a']))
    dispatcher.accept(other, batch(0, ['b'], 1))
    dispatcher.flush()
    const [mineSlice, otherSlice] = pool.slices().sort((x, y) => x.partition - y.partition) as [WireSlice, WireSlice]
    mine.startDraining()
    dispatcher.accept(mine, batch(1, ['a']))
    dispatcher.flush()
    assert.equal(pool.slices().length, 2, 'nothing new starts for a draining partition')

    let drained: boolean | undefined
    const draining = dispatcher.drain(5_000, [mine]).then((result) => {
      drained = result
    })
    dispatcher.acks([ack(otherSlice)])
    await tick()
    assert.equal(drained, undefined, "another partition's ack does not end the drain")
    dispatcher.acks([ack(mineSlice)])
    await draining
    assert.equal(drained, true)
    assert.equal(await dispatcher.drain(10, [mine]), true, 'nothing in flight: resolves at once')
  })

  test('drain() resolves false when its slices are still out after the timeout', async () => {
    const { dispatcher, partition } = setup()
    const state = partition()
    dispatcher.accept(state, batch(0, ['a']))
    dispatcher.flush()
    assert.equal(await dispatcher.drain(20), false)
  })

  test('a dead worker session fails its slices where its progress counters say they stood', () => {
    const { dispatcher, pool, progress, partition } = setup({ virtualPartitions: { lanes: 1 }, retry: { backoffMs: 1000 } })
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'a', 'a', 'a']))
    dispatcher.flush()
    const slice = pool.slices()[0] as WireSlice
    // The worker got through two messages before its thread died.
    progressReporter(progress.buffer)(slice.slot, 2)
    dispatcher.sessionFailed(1, new Error('thread exited'))
    assert.equal(state.watermark(), 2, 'the two finished messages are done')
    assert.equal(state.handled, 2)
    assert.equal(state.failures, 1, 'the message that was running is charged one attempt')
    assert.equal(dispatcher.slicesInFlight, 0)
    state.revoke()
  })

  test('a slice that was wholly handled when its worker session died is done, not failed: no message is charged an attempt', () => {
    const { dispatcher, pool, progress, partition } = setup({ virtualPartitions: { lanes: 1 }, retry: { backoffMs: 1000 } })
    const state = partition()
    dispatcher.accept(state, batch(0, ['a', 'a']))
    dispatcher.flush()
    const slice = pool.slices()[0] as WireSlice
    // Its last message was done, its ack not yet sent, when the thread died (a handler of
    // another slice on it called process.exit()).
    progressReporter(progress.buffer)(slice.slot, slice.count)
    dispatcher.sessionFailed(1, new Error('thread exited'))
    assert.equal(state.watermark(), 2, 'both messages are done')
    assert.equal(state.failures, 0, 'nothing failed: the lane is empty, not retrying')
    assert.equal(state.lanes[0]?.waiting, false)
    dispatcher.accept(state, batch(2, ['a']))
    dispatcher.flush()
    assert.equal(pool.slices().at(-1)?.attempt, 1, 'the next message starts at its first attempt')
    state.revoke()
  })

  test('stopDispatching() stops new slices; flush sends nothing afterwards', () => {
    const { dispatcher, pool, partition } = setup()
    const state = partition()
    dispatcher.stopDispatching()
    dispatcher.accept(state, batch(0, ['a']))
    dispatcher.flush()
    assert.equal(pool.sent.length, 0)
  })
})
