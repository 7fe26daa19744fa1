/**
 * The failure policy on a real lane and partition, with fake callbacks: retry in the lane,
 * dead-letter once attempts are spent (or at once for an undecodable payload), and a
 * dead-letter write retried until it is delivered. Nothing is ever counted done early.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type { Message as KafkaMessage } from 'node-rdkafka'
import type { WireSliceAck } from '../../../src/codec/slice-codec.js'
import type { TopicRoute } from '../../../src/config/options.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import { channels } from '../../../src/diagnostics.js'
import type { HandlerErrorEvent } from '../../../src/diagnostics.js'
import { FailureHandler } from '../../../src/dispatch/failure-handler.js'
import { HandlerError, type KvpError } from '../../../src/errors.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import type { PartitionLane } from '../../../src/dispatch/partition-state.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'
import { waitFor } from '../../helpers/kafka.js'

function partitionWithLane(route: Partial<TopicRoute>, count = 2): { state: PartitionState; lane: PartitionLane } {
  const resolved = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions: { lanes: 1 }, ...route }] }).routes[0]
  assert.ok(resolved)
  const state = new PartitionState('t', 0, resolved, 1, createKeyExtractor(resolved.partitioner, 'p'), createDistributor(resolved.distribution, resolved.lanes))
  const messages: KafkaMessage[] = Array.from({ length: count }, (_, offset) => ({ topic: 't', partition: 0, offset, key: Buffer.from('k'), value: Buffer.from(`v${offset}`), size: 2 }))
  const touched: PartitionLane[] = []
  state.accept(messages, touched)
  const lane = state.lanes[0]
  assert.ok(lane)
  lane.sliceSent()
  lane.sliceReturned(0, true)
  return { state, lane }
}

function failure(code = 'KVP_HANDLER', message = 'boom'): WireSliceAck {
  return { id: 1, handled: 0, marked: 0, failed: true, errorMessage: message, errorCode: code, errorStack: '', durationMs: 1 }
}

function recorder() {
  const calls = { resumed: 0, deadLettered: 0, writes: [] as Array<{ offset: number; attempts: number; code: string }> }
  return calls
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('FailureHandler', () => {
  test('a failure with attempts left makes the lane wait its backoff, then resume with the next attempt', async () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 5 } })
    const calls = recorder()
    const handler = new FailureHandler({
      resume: () => calls.resumed++,
      deadLettered: () => calls.deadLettered++,
      deadLetter: () => Promise.reject(new Error('no dead letters here')),
    })
    handler.failed(state, lane, failure())
    assert.equal(state.failures, 1)
    assert.equal(lane.waiting, true)
    assert.equal(lane.attempt, 2)
    assert.equal(calls.resumed, 0, 'not before the backoff')
    await sleep(30)
    assert.equal(calls.resumed, 1)
    assert.equal(lane.waiting, false)
    assert.equal(calls.deadLettered, 0)
  })

  test('without a dead-letter topic a message is retried for ever: never skipped', async () => {
    const { state, lane } = partitionWithLane({ retry: { backoffMs: 0, maxBackoffMs: 0 } })
    let resumed = 0
    const handler = new FailureHandler({ resume: () => resumed++, deadLettered: () => assert.fail('skipped'), deadLetter: () => assert.fail('no topic') })
    for (let i = 0; i < 50; i++) {
      handler.failed(state, lane, failure())
      await sleep(1)
    }
    assert.equal(resumed, 50)
    assert.equal(lane.attempt, 51)
    assert.equal(state.watermark(), 0, 'the failing message holds the watermark')
  })

  test('the last attempt goes to the dead-letter topic, and only its delivery counts the message done', async () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 2 }, deadLetter: { topic: 't-dlq' } })
    const calls = recorder()
    let deliver: () => void = () => {}
    const handler = new FailureHandler({
      resume: () => calls.resumed++,
      deadLettered: (s, l) => {
        calls.deadLettered++
        s.deadLetterDelivered(l)
      },
      deadLetter: (_state, message, error, attempts) => {
        calls.writes.push({ offset: message.offset, attempts, code: error.code })
        return new Promise<void>((resolve) => {
          deliver = resolve
        })
      },
    })
    handler.failed(state, lane, failure())
    assert.equal(calls.writes.length, 0, 'attempt 1 of 2 is retried')
    handler.failed(state, lane, failure())
    assert.deepEqual(calls.writes, [{ offset: 0, attempts: 2, code: 'KVP_HANDLER' }])
    assert.equal(lane.waiting, true)
    await sleep(5)
    assert.equal(calls.deadLettered, 0, 'not done before the delivery report')
    deliver()
    await sleep(1)
    assert.equal(calls.deadLettered, 1)
    assert.equal(lane.waiting, false)
    assert.equal(lane.attempt, 1, 'the next message starts at its first attempt')
    assert.equal(state.deadLettered, 1)
    assert.equal(state.watermark(), 1)
  })

  test('an undecodable payload is dead-lettered at once: retrying cannot help', () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 10 }, deadLetter: { topic: 't-dlq' } })
    const writes: string[] = []
    const handler = new FailureHandler({
      resume: () => assert.fail('retried'),
      deadLettered: () => {},
      deadLetter: (_s, _m, error) => {
        writes.push(error.code)
        return new Promise(() => {})
      },
    })
    handler.failed(state, lane, failure('KVP_DECODE', 'payload is not valid JSON'))
    assert.deepEqual(writes, ['KVP_DECODE'])
    state.revoke()
  })

  test('a code from the wire is trusted only if it is on the closed list: any other is a handler failure', () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 1 }, deadLetter: { topic: 't-dlq' } })
    const errors: KvpError[] = []
    const handler = new FailureHandler({
      resume: () => assert.fail('retried'),
      deadLettered: () => {},
      deadLetter: (_s, _m, error) => {
        errors.push(error)
        return new Promise(() => {})
      },
    })
    handler.failed(state, lane, failure('KVP_MADE_UP', 'a handler threw its own code'))
    assert.equal(errors[0]?.code, 'KVP_HANDLER')
    assert.ok(errors[0] instanceof HandlerError)
    assert.equal(errors[0]?.message, 'a handler threw its own code')
    state.revoke()
  })
  test('a dead-letter write that fails is retried with backoff until it lands, each failure published', async () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 1, backoffMs: 2, maxBackoffMs: 4 }, deadLetter: { topic: 't-dlq' } })
    let tries = 0
    let done = 0
    const events: HandlerErrorEvent[] = []
    const unsubscribe = channels.handlerError.subscribe((event) => events.push(event))
    try {
      const handler = new FailureHandler({
        resume: () => assert.fail('retried the handler'),
        deadLettered: () => done++,
        deadLetter: () => (++tries < 4 ? Promise.reject(new Error('broker down')) : Promise.resolve()),
      })
      handler.failed(state, lane, failure())
      await waitFor('the dead letter to land', () => done === 1, 10_000, 5)
    } finally {
      unsubscribe()
    }
    assert.equal(tries, 4)
    assert.equal(done, 1)
    assert.deepEqual(
      events.map((e) => e.error.code),
      ['KVP_HANDLER', 'KVP_DEAD_LETTER', 'KVP_DEAD_LETTER', 'KVP_DEAD_LETTER'],
    )
    assert.ok(events.slice(1).every((e) => e.willRetry))
  })

  test('a partition revoked while its dead letter is being written counts nothing and schedules nothing', async () => {
    const { state, lane } = partitionWithLane({ retry: { maxAttempts: 1, backoffMs: 1 }, deadLetter: { topic: 't-dlq' } })
    let tries = 0
    const handler = new FailureHandler({
      resume: () => assert.fail('resumed'),
      deadLettered: () => assert.fail('counted'),
      deadLetter: () => {
        tries++
        return Promise.reject(new Error('broker down'))
      },
    })
    handler.failed(state, lane, failure())
    state.revoke()
    await sleep(30)
    assert.equal(tries, 1, 'no retry after the revoke')
    assert.equal(state.deadLettered, 0)
  })
})
