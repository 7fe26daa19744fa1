import { strict as assert } from 'node:assert'
import { pathToFileURL } from 'node:url'
import { test } from 'node:test'
import { decodeTask, decodeTaskAck, encodeTask, encodeTaskAck, ownWhole } from '../../../src/codec/slice-codec.js'
import type { WireSliceAck } from '../../../src/codec/slice-codec.js'
import { WorkerPool } from '../../../src/dispatch/pool.js'
import { fileURLToPath } from 'node:url'

const noopHandler = pathToFileURL(fileURLToPath(new URL('../../fixtures/noop-handler.js', import.meta.url))).href

test('a task round-trips through the codec: offsets, null and empty keys, values, headers, timestamps', () => {
  const bytes = encodeTask({
    slices: [{
      id: 7, route: 1, topic: 'orders', partition: 3, lane: 12, attempt: 2, slot: 4,
      messages: [
        { offset: 2 ** 40 + 5, key: Buffer.from('k1'), value: Buffer.from('{"a":1}'), timestamp: 1_700_000_000_123 },
        { offset: 2 ** 40 + 9, key: null, value: null, timestamp: 0 },
        { offset: 2 ** 40 + 10, key: Buffer.alloc(0), value: Buffer.alloc(0), hdrs: [{ key: 'trace', value: Buffer.from('abc') }] },
      ],
    }],
  })
  const task = decodeTask(bytes)
  const slice = task.slices[0]
  assert.ok(slice)
  assert.deepEqual([slice.id, slice.route, slice.topic, slice.partition, slice.lane, slice.attempt], [7, 1, 'orders', 3, 12, 2])
  const [a, b, c] = slice.messages
  assert.ok(a && b && c)
  assert.equal(a.offset, 2 ** 40 + 5)
  assert.equal(a.timestamp, 1_700_000_000_123)
  assert.equal(Buffer.from(a.key as Uint8Array).toString(), 'k1')
  assert.equal(Buffer.from(a.value as Uint8Array).toString(), '{"a":1}')
  assert.equal(b.key ?? null, null, 'a null key stays null')
  assert.equal(b.value ?? null, null, 'a null value stays null')
  assert.equal((c.key as Uint8Array).length, 0, 'an empty key stays empty, not null')
  assert.equal(c.hdrs?.[0]?.key, 'trace')
  assert.equal(Buffer.from(c.hdrs?.[0]?.value as Uint8Array).toString(), 'abc')
})

test('an ack round-trips through the codec', () => {
  const ack = { id: 3, handled: 5, marked: 4, failed: true, errorMessage: 'boom', errorCode: 'KVP_HANDLER', errorStack: 'Error: boom', durationMs: 1.5 }
  assert.deepEqual({ ...decodeTaskAck(encodeTaskAck({ acks: [ack] })).acks[0] }, ack)
})

test('encoded buffers own their ArrayBuffer whole, so transferring them moves nothing else', () => {
  const small = encodeTask({ slices: [{ id: 1, route: 0, topic: 't', partition: 0, lane: 0, attempt: 1, slot: 0, messages: [{ offset: 1, value: Buffer.from('x') }] }] })
  assert.equal(small.byteOffset, 0)
  assert.equal(small.byteLength, small.buffer.byteLength)
  const pooled = Buffer.from('pooled')
  assert.notEqual(pooled.byteLength, pooled.buffer.byteLength, 'precondition: Node pools small Buffers')
  const owned = ownWhole(pooled)
  assert.equal(owned.byteLength, owned.buffer.byteLength)
  assert.deepEqual(Buffer.from(owned), pooled)
})

test('a dispatched slice is transferred, not copied: the sender\'s ArrayBuffer is detached, and its ack comes back', async (t) => {
  let received: (acks: WireSliceAck[]) => void = () => {}
  const acked = new Promise<WireSliceAck[]>((resolve) => {
    received = resolve
  })
  const pool = new WorkerPool(
    { progress: new SharedArrayBuffer(64), threads: 1, concurrencyPerThread: 4, routes: [{ topic: 't', handlerUrl: noopHandler, payload: 'raw', manualOffsets: false }] },
    { acks: (acks) => received(acks), sessionFailed: (_session, error) => assert.fail(String(error)) },
  )
  t.after(() => pool.close())
  pool.start()
  const session = pool.pick()
  assert.ok(session !== undefined)
  const task = encodeTask({ slices: [{ id: 9, route: 0, topic: 't', partition: 0, lane: 0, attempt: 1, slot: 3, messages: [{ offset: 1, key: Buffer.from('k'), value: Buffer.from('v') }, { offset: 2, value: Buffer.from('w') }] }] })
  const buffer = task.buffer
  assert.ok(buffer.byteLength > 0)
  pool.send(session, task, 1, 2)
  assert.equal(buffer.byteLength, 0, 'detached on send')
  const [ack] = await acked
  assert.equal(ack?.id, 9)
  assert.equal(ack?.handled, 2)
  assert.equal(ack?.failed, false)
})
