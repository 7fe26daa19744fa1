import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { PartitionerOption, RawMessage } from '../../../src/config/options.js'
import { ConfigError } from '../../../src/errors.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

const FIELD = 'topics[0].virtualPartitions.partitioner'

function message(overrides: Partial<RawMessage> = {}): RawMessage {
  return { topic: 'orders', partition: 0, offset: 5, key: null, value: null, ...overrides }
}

function json(value: unknown): RawMessage {
  return message({ value: Buffer.from(JSON.stringify(value)) })
}

function assertConfigError(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.field, field)
    assert.equal(error.code, 'KVP_CONFIG')
    assert.match(error.message, pattern)
    return true
  })
}

describe('createKeyExtractor', () => {
  describe("'key'", () => {
    const extract = createKeyExtractor('key', FIELD)

    it('returns the Kafka message key as it is, Buffer or string', () => {
      const key = Buffer.from('order-1')
      assert.equal(extract(message({ key })), key)
      assert.equal(extract(message({ key: 'order-2' })), 'order-2')
    })

    it('returns null for a message without a key', () => {
      assert.equal(extract(message({ key: null })), null)
      assert.equal(extract(message({ key: undefined })), null)
    })
  })

  describe('{ header }', () => {
    const extract = createKeyExtractor({ header: 'tenant' }, FIELD)

    it('returns the first header with that name', () => {
      const headers = [{ trace: Buffer.from('t1') }, { tenant: Buffer.from('acme') }, { tenant: Buffer.from('other') }]
      assert.deepEqual(extract(message({ headers })), Buffer.from('acme'))
      assert.equal(extract(message({ headers: [{ tenant: 'as-string' }] })), 'as-string')
    })

    it('returns null when the header is absent, or the message has no headers', () => {
      assert.equal(extract(message({ headers: [{ trace: 'x' }] })), null)
      assert.equal(extract(message({ headers: [] })), null)
      assert.equal(extract(message()), null)
    })

    it('does not match inherited properties', () => {
      assert.equal(createKeyExtractor({ header: 'toString' }, FIELD)(message({ headers: [{ a: 'b' }] })), null)
    })

    it('rejects an empty or non-string header name, naming the field', () => {
      assertConfigError(() => createKeyExtractor({ header: '' }, FIELD), `${FIELD}.header`, /non-empty header name, got ""/)
      assertConfigError(() => createKeyExtractor({ header: 3 } as unknown as PartitionerOption, FIELD), `${FIELD}.header`, /got 3/)
    })
  })

  describe('{ json }', () => {
    it('reads a top-level field', () => {
      assert.equal(createKeyExtractor({ json: 'userId' }, FIELD)(json({ userId: 'u-1' })), 'u-1')
    })

    it('reads a nested dotted path, array indexes included', () => {
      const extract = createKeyExtractor({ json: 'order.customer.id' }, FIELD)
      assert.equal(extract(json({ order: { customer: { id: 'c-9' } } })), 'c-9')
      const byIndex = createKeyExtractor({ json: 'items.1.sku' }, FIELD)
      assert.equal(byIndex(json({ items: [{ sku: 'a' }, { sku: 'b' }] })), 'b')
    })

    it('turns numbers and booleans into strings, objects and arrays into their JSON', () => {
      const extract = createKeyExtractor({ json: 'k' }, FIELD)
      assert.equal(extract(json({ k: 42 })), '42')
      assert.equal(extract(json({ k: 1.5 })), '1.5')
      assert.equal(extract(json({ k: false })), 'false')
      assert.equal(extract(json({ k: { b: 1, a: [2] } })), '{"b":1,"a":[2]}')
      assert.equal(extract(json({ k: [1, 'x'] })), '[1,"x"]')
    })

    it('gives null for a missing path, a null value on the way, or an empty message', () => {
      const extract = createKeyExtractor({ json: 'a.b.c' }, FIELD)
      assert.equal(extract(json({ a: { x: 1 } })), null)
      assert.equal(extract(json({ a: { b: null } })), null)
      assert.equal(extract(json({ a: { b: 'not-an-object' } })), null)
      assert.equal(extract(json({ a: { b: { c: null } } })), null)
      assert.equal(extract(json('a string')), null)
      assert.equal(extract(json(null)), null)
      assert.equal(extract(message({ value: null })), null)
      assert.equal(extract(message({ value: Buffer.alloc(0) })), null)
      assert.equal(createKeyExtractor({ json: 'constructor' }, FIELD)(json({})), null, 'inherited properties do not count')
    })

    it('throws on invalid JSON (the engine reports it as a partitioner error)', () => {
      const extract = createKeyExtractor({ json: 'a' }, FIELD)
      assert.throws(() => extract(message({ value: Buffer.from('{not json') })), SyntaxError)
    })

    it('rejects an empty path or one with empty segments, naming the field', () => {
      assertConfigError(() => createKeyExtractor({ json: '' }, FIELD), `${FIELD}.json`, /dotted path/)
      assertConfigError(() => createKeyExtractor({ json: 'a..b' }, FIELD), `${FIELD}.json`, /empty segments, got "a..b"/)
      assertConfigError(() => createKeyExtractor({ json: '.a' }, FIELD), `${FIELD}.json`, /empty segments/)
    })
  })

  describe('{ protobuf }', () => {
    const decodeProtobuf = (value: Buffer): Record<string, unknown> => ({
      order: { id: value.toString(), amount: 12, bytesId: new Uint8Array([1, 2, 3]) },
      longId: { low: 5, high: 0, unsigned: false, toString: () => '5' },
    })

    it("decodes the value with the route's type, then reads the dotted path", () => {
      const extract = createKeyExtractor({ protobuf: 'order.id' }, FIELD, { decodeProtobuf })
      assert.equal(extract(message({ value: Buffer.from('o-17') })), 'o-17')
      assert.equal(createKeyExtractor({ protobuf: 'order.amount' }, FIELD, { decodeProtobuf })(message({ value: Buffer.alloc(1) })), '12')
      assert.equal(createKeyExtractor({ protobuf: 'order.missing' }, FIELD, { decodeProtobuf })(message({ value: Buffer.alloc(1) })), null)
      assert.equal(extract(message({ value: null })), null)
    })

    it('keeps bytes fields as a Buffer and turns int64 Longs into their decimal string', () => {
      const bytes = createKeyExtractor({ protobuf: 'order.bytesId' }, FIELD, { decodeProtobuf })(message({ value: Buffer.alloc(1) }))
      assert.ok(Buffer.isBuffer(bytes))
      assert.deepEqual([...bytes], [1, 2, 3])
      assert.equal(createKeyExtractor({ protobuf: 'longId' }, FIELD, { decodeProtobuf })(message({ value: Buffer.alloc(1) })), '5')
    })

    it('needs a protobuf payload on the route, and says so naming the field', () => {
      assertConfigError(() => createKeyExtractor({ protobuf: 'order.id' }, FIELD), FIELD, /needs payload: \{ protobuf, type \} on the route/)
      assertConfigError(() => createKeyExtractor({ protobuf: 'order.id' }, FIELD, {}), FIELD, /needs payload/)
    })

    it('rejects an empty path, naming the field', () => {
      assertConfigError(() => createKeyExtractor({ protobuf: '' }, FIELD, { decodeProtobuf }), `${FIELD}.protobuf`, /dotted path/)
    })
  })

  describe('a function', () => {
    it('is used as is', () => {
      const fn = (m: RawMessage): string => `${m.topic}:${m.partition}`
      const extract = createKeyExtractor(fn, FIELD)
      assert.equal(extract, fn)
      assert.equal(extract(message()), 'orders:0')
    })
  })

  describe('anything else', () => {
    it('is a ConfigError naming the field and what was given', () => {
      const cases: Array<[unknown, RegExp]> = [
        ['keys', /got "keys"/],
        [42, /got 42/],
        [null, /got null/],
        [undefined, /got undefined/],
        [[], /got an array/],
        [{}, /got an empty object/],
        [{ field: 'x' }, /got an object with "field"/],
        [{ header: 'a', json: 'b' }, /got an object with "header", "json"/],
      ]
      for (const [option, pattern] of cases) {
        assertConfigError(() => createKeyExtractor(option as PartitionerOption, FIELD), FIELD, /expected 'key', \{ header: 'name' \}, \{ json: 'a.b' \}, \{ protobuf: 'field' \} or a function/)
        assertConfigError(() => createKeyExtractor(option as PartitionerOption, FIELD), FIELD, pattern)
      }
    })
  })
})
