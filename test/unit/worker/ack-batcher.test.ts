import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type { WireSliceAck } from '../../../src/codec/slice-codec.js'
import { AckBatcher } from '../../../src/worker/ack-batcher.js'

const ack = (id: number): WireSliceAck => ({ id, handled: 1, marked: 1, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 0 })
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('acks of one turn of the event loop travel together, sent after it', async () => {
  const sent: number[][] = []
  const batcher = new AckBatcher(
    (acks) => sent.push(acks.map((a) => a.id)),
    2,
    () => 0,
  )
  batcher.add(ack(1))
  batcher.add(ack(2))
  batcher.add(ack(3))
  assert.deepEqual(sent, [], 'nothing is sent inside the turn')
  await turn()
  assert.deepEqual(sent, [[1, 2, 3]])
  batcher.add(ack(4))
  await turn()
  assert.deepEqual(sent, [[1, 2, 3], [4]], 'a later turn sends its own')
})

test('a turn that runs long (a CPU-bound task) sends its acks once the oldest has waited maxDelayMs, without waiting for the turn to end', async () => {
  const sent: number[][] = []
  let now = 0
  const batcher = new AckBatcher(
    (acks) => sent.push(acks.map((a) => a.id)),
    2,
    () => now,
  )
  // One synchronous run of slices, 1 ms each: no event-loop turn in between.
  for (let id = 1; id <= 7; id++) {
    now += 1
    batcher.add(ack(id))
  }
  assert.deepEqual(
    sent,
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    'sent every 2 ms of waiting, in order',
  )
  await turn()
  assert.deepEqual(sent.at(-1), [7], 'the rest goes at the end of the turn')
  await turn()
  assert.equal(sent.length, 3, 'nothing is sent twice or empty')
})
