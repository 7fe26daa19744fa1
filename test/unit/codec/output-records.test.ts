import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { OutputRecordsWriter, decodeOutputRecords } from '../../../src/codec/output-records.js'
import { KvpError } from '../../../src/errors.js'

describe('output records codec', () => {
  test('records round-trip with their topic, partition, key, value and headers, null key and value kept null', () => {
    const writer = new OutputRecordsWriter()
    writer.add({ topic: 'out', key: 'k1', value: Buffer.from([0, 1, 2, 255]), headers: { a: 'x', b: Buffer.from([0, 9]) } })
    writer.add({ topic: 'other', key: null, value: null, partition: 3 })
    writer.add({ topic: 'out', value: 'v', headers: [{ r: 'one' }, { r: 'two' }] })
    const records = decodeOutputRecords(writer.finish())
    assert.equal(records.length, 3)
    const [a, b, c] = records
    assert.equal(a?.topic, 'out')
    assert.equal(a?.partition, null)
    assert.equal(a?.key?.toString(), 'k1')
    assert.deepEqual([...(a?.value ?? [])], [0, 1, 2, 255])
    assert.deepEqual(
      a?.headers?.map((h) => Object.entries(h).map(([n, v]) => [n, [...v]])),
      [[['a', [120]]], [['b', [0, 9]]]],
    )
    assert.deepEqual([b?.topic, b?.partition, b?.key, b?.value, b?.headers], ['other', 3, null, null, undefined])
    assert.deepEqual(
      c?.headers?.map((h) => Object.entries(h).map(([n, v]) => `${n}=${v.toString()}`)),
      [['r=one'], ['r=two']],
    )
  })

  test('an empty writer packs to no records', () => {
    assert.deepEqual(decodeOutputRecords(new OutputRecordsWriter().finish()), [])
  })

  test('take() moves one call’s records into the slice’s writer in order', () => {
    const slice = new OutputRecordsWriter()
    const call = new OutputRecordsWriter()
    call.add({ topic: 't', value: '1' })
    call.add({ topic: 't', value: '2' })
    slice.take(call)
    assert.equal(call.count, 0)
    assert.deepEqual(
      decodeOutputRecords(slice.finish()).map((r) => r.value?.toString()),
      ['1', '2'],
    )
  })

  for (const [record, field] of [
    [null, 'record'],
    [{ value: 'v' }, 'record.topic'],
    [{ topic: '', value: 'v' }, 'record.topic'],
    [{ topic: 't' }, 'record.value'],
    [{ topic: 't', value: 5 }, 'record.value'],
    [{ topic: 't', value: 'v', key: {} }, 'record.key'],
    [{ topic: 't', value: 'v', partition: -1 }, 'record.partition'],
    [{ topic: 't', value: 'v', headers: { h: 1 } }, 'record.headers.h'],
    [{ topic: 't', value: 'v', extra: 1 }, 'record.extra'],
  ] as const) {
    test(`a bad record shape throws KVP_PRODUCE naming ${field}: ${JSON.stringify(record)}`, () => {
      const writer = new OutputRecordsWriter()
      assert.throws(
        () => writer.add(record),
        (error: unknown) => error instanceof KvpError && error.code === 'KVP_PRODUCE' && error.message.includes(field),
      )
      assert.equal(writer.count, 0)
    })
  }
})
