import { strict as assert } from 'node:assert'
import { pathToFileURL } from 'node:url'
import { test } from 'node:test'
import { decodeTask, decodeTaskAck, encodeTask, encodeTaskAck, ownWhole } from '../../../src/codec/slice-codec.js'
import type { WireSliceAck } from '../../../src/codec/slice-codec.js'
import { RecordColumnsReader, RecordColumnsWriter } from '../../../src/codec/record-columns.js'
import type { Message as KafkaMessage } from 'node-rdkafka'
import { WorkerPool } from '../../../src/dispatch/pool.js'
import { fileURLToPath } from 'node:url'

const noopHandler = pathToFileURL(fileURLToPath(new URL('../../fixtures/noop-handler.js', import.meta.url))).href

function rdkafkaMessage(offset: number, key: Buffer | string | null, value: Buffer | null, extra: Partial<KafkaMessage> = {}): KafkaMessage {
  return { topic: 't', partition: 0, offset, key, value, size: value?.length ?? 0, timestamp: 1_700_000_000_000 + offset, ...extra }
}

test('a task round-trips through the codec: offsets, null and empty keys, values, headers, timestamps', () => {
  const lane = [
    rdkafkaMessage(2 ** 40 + 5, Buffer.from('k1'), Buffer.from('{"a":1}')),
    rdkafkaMessage(2 ** 40 + 9, null, null),
    rdkafkaMessage(2 ** 40 + 10, Buffer.alloc(0), Buffer.alloc(0), { headers: [{ trace: Buffer.from('abc') }, { über: 'é' }] }),
    rdkafkaMessage(2 ** 40 + 11, 'string-key', Buffer.from('v')),
  ]
  const records = new RecordColumnsWriter()
  const first = records.add(lane, 1, 3)
  const bytes = encodeTask({ slices: [{ id: 7, route: 1, partition: 3, lane: 12, attempt: 2, slot: 4, first, count: 3 }] })
  const task = decodeTask(bytes)
  const slice = task.slices[0]
  assert.ok(slice)
  assert.deepEqual([slice.id, slice.route, slice.partition, slice.lane, slice.attempt, slice.slot, slice.first, slice.count], [7, 1, 3, 12, 2, 4, 0, 3])
  const reader = new RecordColumnsReader(records.finish())
  assert.equal(reader.count, 3)
  assert.equal(reader.offset(0), 2 ** 40 + 9)
  assert.equal(reader.timestamp(0), 1_700_000_000_000 + 2 ** 40 + 9)
  assert.equal(reader.key(0), null, 'a null key stays null')
  assert.equal(reader.value(0), null, 'a null value stays null')
  assert.equal(reader.key(1)?.length, 0, 'an empty key stays empty, not null')
  assert.equal(reader.value(1)?.length, 0)
  assert.deepEqual(reader.headers(1), [{ trace: Buffer.from('abc') }, { über: Buffer.from('é') }])
  assert.equal(reader.headers(0), undefined)
  assert.equal(reader.key(2)?.toString(), 'string-key', 'a string key travels as its UTF-8 bytes')
  assert.equal(reader.value(2)?.toString(), 'v')
})

test('records of several lanes share one task; each slice finds its own', () => {
  const a = Array.from({ length: 5 }, (_, i) => rdkafkaMessage(i * 2, Buffer.from(`a${i}`), Buffer.from(`value-a${i}`)))
  const b = Array.from({ length: 3 }, (_, i) => rdkafkaMessage(i * 2 + 1, Buffer.from(`b${i}`), Buffer.from(`value-b${i}`)))
  const records = new RecordColumnsWriter()
  const firstA = records.add(a, 2, 3)
  const firstB = records.add(b, 0, 3)
  const reader = new RecordColumnsReader(records.finish())
  assert.deepEqual([firstA, firstB, reader.count], [0, 3, 6])
  assert.deepEqual(
    [0, 1, 2].map((i) => reader.value(firstA + i)?.toString()),
    ['value-a2', 'value-a3', 'value-a4'],
  )
  assert.deepEqual(
    [0, 1, 2].map((i) => reader.key(firstB + i)?.toString()),
    ['b0', 'b1', 'b2'],
  )
  assert.deepEqual(
    [0, 1, 2].map((i) => reader.offset(firstB + i)),
    [1, 3, 5],
  )
})

test('packed rows copy into a task unchanged: keys, values, headers, offsets, from several chunks', () => {
  const pack = (messages: KafkaMessage[]): RecordColumnsReader => {
    const writer = new RecordColumnsWriter()
    writer.add(messages, 0, messages.length)
    return new RecordColumnsReader(writer.finish())
  }
  const one = pack([
    rdkafkaMessage(10, Buffer.from('k10'), Buffer.from('v10')),
    rdkafkaMessage(11, null, null, { headers: [{ h: Buffer.from('x') }] }),
    rdkafkaMessage(12, Buffer.from(''), Buffer.from('v12')),
  ])
  const two = pack([rdkafkaMessage(20, Buffer.from('k20'), Buffer.from('value-20'), { headers: [{ a: 'b' }, { c: Buffer.from('dd') }] })])
  const records = new RecordColumnsWriter()
  records.add([rdkafkaMessage(1, 'lead', Buffer.from('first'))], 0, 1)
  assert.equal(records.addRows(one, 1, 2), 1)
  assert.equal(records.addRows(two, 0, 1), 3)
  const reader = new RecordColumnsReader(records.finish())
  assert.equal(reader.count, 4)
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => reader.offset(r)),
    [1, 11, 12, 20],
  )
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => reader.key(r)?.toString() ?? null),
    ['lead', null, '', 'k20'],
  )
  assert.deepEqual(
    [0, 1, 2, 3].map((r) => reader.value(r)?.toString() ?? null),
    ['first', null, 'v12', 'value-20'],
  )
  assert.deepEqual(reader.headers(1), [{ h: Buffer.from('x') }])
  assert.deepEqual(reader.headers(3), [{ a: Buffer.from('b') }, { c: Buffer.from('dd') }])
  assert.equal(reader.timestamp(3), 1_700_000_000_020)
  assert.deepEqual(two.message(0, 't', 3), {
    topic: 't',
    partition: 3,
    offset: 20,
    timestamp: 1_700_000_000_020,
    key: Buffer.from('k20'),
    value: Buffer.from('value-20'),
    size: 8,
    headers: [{ a: Buffer.from('b') }, { c: Buffer.from('dd') }],
  })
})

test('truncated record columns are refused, not misread', () => {
  const records = new RecordColumnsWriter()
  records.add([rdkafkaMessage(1, Buffer.from('key'), Buffer.from('a value'))], 0, 1)
  const bytes = records.finish()
  assert.throws(() => new RecordColumnsReader(bytes.subarray(0, bytes.length - 3)), /truncated/)
  const withHeader = new RecordColumnsWriter()
  withHeader.add([rdkafkaMessage(1, null, null, { headers: [{ name: Buffer.from('value') }] })], 0, 1)
  const headerBytes = withHeader.finish()
  assert.throws(() => new RecordColumnsReader(headerBytes.subarray(0, headerBytes.length - 7)), /truncated/, 'a header cut short')
})

test('an ack round-trips through the codec', () => {
  const ack = { id: 3, handled: 5, marked: 4, failed: true, errorMessage: 'boom', errorCode: 'KVP_HANDLER', errorStack: 'Error: boom', durationMs: 1.5 }
  // A repeated field decodes as an empty array when nothing was set.
  assert.deepEqual({ ...decodeTaskAck(encodeTaskAck({ acks: [ack] })).acks[0] }, { ...ack, outputCounts: [] })
})

test("an ack's output records and per-message counts round-trip through the codec", () => {
  const outputs = new Uint8Array([1, 0, 0, 0, 9, 8, 7])
  const ack = { id: 4, handled: 3, marked: 3, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 2, outputs, outputCounts: [1, 0, 2] }
  const decoded = decodeTaskAck(encodeTaskAck({ acks: [ack] })).acks[0]
  assert.deepEqual([...(decoded?.outputs ?? [])], [...outputs])
  assert.deepEqual(decoded?.outputCounts, [1, 0, 2])
})

test('encoded buffers own their ArrayBuffer whole, so transferring them moves nothing else', () => {
  const records = new RecordColumnsWriter()
  records.add([rdkafkaMessage(1, null, Buffer.from('x'))], 0, 1)
  const small = encodeTask({ slices: [{ id: 1, route: 0, partition: 0, lane: 0, attempt: 1, slot: 0, first: 0, count: 1 }] })
  assert.equal(small.byteOffset, 0)
  assert.equal(small.byteLength, small.buffer.byteLength)
  const packed = records.finish()
  assert.equal(packed.byteLength, packed.buffer.byteLength)
  const pooled = Buffer.from('pooled')
  assert.notEqual(pooled.byteLength, pooled.buffer.byteLength, 'precondition: Node pools small Buffers')
  const owned = ownWhole(pooled)
  assert.equal(owned.byteLength, owned.buffer.byteLength)
  assert.deepEqual(Buffer.from(owned), pooled)
})

test("a dispatched slice is transferred, not copied: the sender's ArrayBuffer is detached, and its ack comes back", async (t) => {
  let received: (acks: WireSliceAck[]) => void = () => {}
  const acked = new Promise<WireSliceAck[]>((resolve) => {
    received = resolve
  })
  const pool = new WorkerPool({ progress: new SharedArrayBuffer(64), threads: 1, concurrencyPerThread: 4, routes: [{ topic: 't', handlerUrl: noopHandler, payload: 'raw', manualOffsets: false }] })
  t.after(() => pool.close())
  pool.start({ acks: (acks) => received(acks), sessionFailed: (_session, error) => assert.fail(String(error)) })
  const session = pool.pick()
  assert.ok(session !== undefined)
  const records = new RecordColumnsWriter()
  records.add([rdkafkaMessage(1, Buffer.from('k'), Buffer.from('v')), rdkafkaMessage(2, null, Buffer.from('w'))], 0, 2)
  const task = encodeTask({ slices: [{ id: 9, route: 0, partition: 0, lane: 0, attempt: 1, slot: 3, first: 0, count: 2 }] })
  const packed = records.finish()
  const buffers = [task.buffer, packed.buffer]
  assert.ok(buffers.every((buffer) => buffer.byteLength > 0))
  pool.send(session, { task, records: packed }, 1, 2)
  assert.deepEqual(
    buffers.map((buffer) => buffer.byteLength),
    [0, 0],
    'both buffers detached on send',
  )
  const [ack] = await acked
  assert.equal(ack?.id, 9)
  assert.equal(ack?.handled, 2)
  assert.equal(ack?.failed, false)
})
