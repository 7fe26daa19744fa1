/**
 * Output delivery with a fake producer and fake exactly-once hooks: which acks it holds,
 * what it sends, and the ack it settles once the delivery reports are in.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { OutputRecordsWriter, carriesRecords } from '../../../src/codec/output-records.js'
import type { DecodedOutput } from '../../../src/codec/output-records.js'
import type { WireSliceAck } from '../../../src/codec/slice-codec.js'
import { OutputDelivery } from '../../../src/dispatch/output-delivery.js'
import type { DeliverySlice, OutputHooks } from '../../../src/dispatch/output-delivery.js'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { ErrorCodes, KvpError } from '../../../src/errors.js'
import { fetchMessages, partitionState } from '../../helpers/partitions.js'

interface Send {
  records: DecodedOutput[]
  counts: readonly number[]
  done: (failedAt: number | undefined, error: KvpError | undefined, sent: boolean) => void
}

/** A fake producer and fake exactly-once hooks, recording every call; `spent` maps an offset to the attempts its records spent. */
function fakeHooks(options: { exactlyOnce?: boolean; spent?: Map<number, number> } = {}) {
  const sends: Send[] = []
  const failed: Array<{ offset: number; error: KvpError }> = []
  const hooks: OutputHooks = {
    produce: (records, counts, done) => sends.push({ records, counts, done }),
    ...(options.exactlyOnce && {
      outputFailed: (_state: PartitionState, offset: number, error: KvpError) => failed.push({ offset, error }),
      undeliverable: (_state: PartitionState, offset: number) => options.spent?.get(offset),
    }),
  }
  return { hooks, sends, failed }
}

/** A slice of the first `count` of 3 messages (offsets 100..102) in one lane, sent to a worker. */
function slice(count = 3): DeliverySlice {
  const state = partitionState('t', 0, { virtualPartitions: false })
  fetchMessages(state, 100, 3)
  const lane = state.lane(0)
  lane.sliceSent()
  return { lane, state, count }
}

/** An ack of `handled` messages, message i having produced `perMessage[i]` records. */
function ack(handled: number, perMessage: number[] = new Array(handled).fill(1)): WireSliceAck {
  const writer = new OutputRecordsWriter()
  perMessage.forEach((records, m) => {
    for (let r = 0; r < records; r++) writer.add({ topic: 'out', value: `m${m}r${r}` })
  })
  return { id: 7, handled, marked: handled, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 3, outputs: writer.finish(), outputCounts: perMessage }
}

function delivery(hooks: OutputHooks) {
  const settled: WireSliceAck[] = []
  const gate = new OutputDelivery(hooks, (_slice, final) => settled.push(final))
  return { gate, settled }
}

describe('OutputDelivery', () => {
  test('an ack without records, without a producer, or of a revoked partition is not held: the caller applies it now', () => {
    const { hooks, sends } = fakeHooks()
    const { gate, settled } = delivery(hooks)
    const plain: WireSliceAck = { id: 1, handled: 3, marked: 3, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 1 }
    assert.equal(gate.deliver(slice(), plain), false, 'no outputs at all')
    const empty = ack(3, [0, 0, 0])
    assert.equal(carriesRecords(empty.outputs), false, 'a writer with no record packs only its count')
    assert.equal(gate.deliver(slice(), empty), false, 'outputs that hold no record')
    assert.equal(new OutputDelivery({}, () => assert.fail('nothing is held')).deliver(slice(), ack(3)), false, 'no producer')
    const revoked = slice()
    revoked.state.revoke()
    assert.equal(gate.deliver(revoked, ack(3)), false, 'the partition was revoked')
    assert.deepEqual([sends.length, settled.length, gate.awaiting], [0, 0, 0])
  })

  test('records are sent with their per-message counts, and the ack settles unchanged once all are delivered', () => {
    const { hooks, sends } = fakeHooks()
    const { gate, settled } = delivery(hooks)
    const sent = ack(3, [2, 0, 1])
    assert.equal(gate.deliver(slice(), sent), true)
    assert.equal(gate.awaiting, 1, 'held while the records are delivered')
    assert.deepEqual(
      sends[0]?.records.map((r) => r.value?.toString()),
      ['m0r0', 'm0r1', 'm2r0'],
    )
    assert.deepEqual(sends[0]?.counts, [2, 0, 1])
    assert.deepEqual(settled, [], 'nothing settles before the delivery reports')
    sends[0]?.done(undefined, undefined, false)
    assert.deepEqual(settled, [sent])
    assert.equal(gate.awaiting, 0)
  })

  test('a failed delivery settles the ack cut short at the message whose record failed, which fails with KVP_PRODUCE', () => {
    const { hooks, sends, failed } = fakeHooks()
    const { gate, settled } = delivery(hooks)
    gate.deliver(slice(), ack(3))
    const error = new KvpError(ErrorCodes.PRODUCE, 'a record to topic out was not delivered: Broker: Message size too large')
    sends[0]?.done(1, error, true)
    assert.deepEqual(settled, [{ id: 7, handled: 1, marked: 1, failed: true, errorMessage: error.message, errorCode: ErrorCodes.PRODUCE, errorStack: error.stack, durationMs: 3 }])
    assert.deepEqual(failed, [], 'at-least-once: no transaction to doom')
  })

  test('exactly-once: a record that reached the producer and failed dooms the open transaction, naming its message’s offset; one that never reached it does not', () => {
    const { hooks, sends, failed } = fakeHooks({ exactlyOnce: true })
    const { gate, settled } = delivery(hooks)
    const error = new KvpError(ErrorCodes.PRODUCE, 'not delivered')
    gate.deliver(slice(), ack(3))
    sends[0]?.done(2, error, true)
    assert.deepEqual(failed, [{ offset: 102, error }])
    gate.deliver(slice(), ack(3))
    sends[1]?.done(0, error, false)
    assert.equal(failed.length, 1, 'not sent: the transaction holds none of its records')
    assert.deepEqual(
      settled.map((a) => [a.handled, a.failed]),
      [
        [2, true],
        [0, true],
      ],
    )
  })

  test('exactly-once: the records of a message whose attempts are spent in aborted transactions are not sent; its ack fails there with those attempts charged to the lane', () => {
    const { hooks, sends } = fakeHooks({ exactlyOnce: true, spent: new Map([[101, 3]]) })
    const { gate, settled } = delivery(hooks)
    const held = slice()
    gate.deliver(held, ack(3, [1, 2, 1]))
    assert.deepEqual(
      sends[0]?.records.map((r) => r.value?.toString()),
      ['m0r0'],
      'only the records of the message before the spent one',
    )
    assert.deepEqual(sends[0]?.counts, [1])
    assert.equal(held.lane.attempt, 3, 'the spent attempts count, so the failure handler dead-letters it')
    sends[0]?.done(undefined, undefined, false)
    assert.equal(settled[0]?.handled, 1)
    assert.equal(settled[0]?.failed, true)
    assert.match(settled[0]?.errorMessage ?? '', /offset 101 could not be delivered in 3 transactions; it goes to the dead-letter topic/)
  })

  test('records that cannot be read settle the ack at once, failed at its first message, without sending anything', () => {
    const { hooks, sends } = fakeHooks()
    const { gate, settled } = delivery(hooks)
    const corrupt = { ...ack(3), outputs: Uint8Array.of(1, 0, 0, 0, 200, 0, 0, 0, 0x74) }
    assert.equal(gate.deliver(slice(), corrupt), true)
    assert.equal(sends.length, 0)
    assert.equal(gate.awaiting, 0)
    assert.deepEqual(
      settled.map((a) => [a.handled, a.marked, a.failed, a.errorCode]),
      [[0, 0, true, ErrorCodes.PRODUCE]],
    )
    assert.match(settled[0]?.errorMessage ?? '', /could not be read/)
  })
})
