import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { configurationPage, optionRows, type SchemaNode, typeOf } from '../../../tools/config-docs.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = [resolve(here, '../../../..'), resolve(here, '../../..')].find((dir) => existsSync(join(dir, 'docs', 'configuration.md'))) as string

describe('docs/configuration.md, generated from the options schema', () => {
  it('is what the options schema gives (npm run schema writes it)', () => {
    assert.ok(root, 'docs/configuration.md is in the repository')
    assert.equal(readFileSync(join(root, 'docs', 'configuration.md'), 'utf8'), configurationPage(), 'docs/configuration.md is out of date: run npm run schema')
  })

  it('has a row for every option, nested ones by dotted path, with the schema’s defaults and descriptions', () => {
    const page = configurationPage()
    for (const row of ['| `groupId` | `string` | required |', '| `backpressure.resumeRatio` | `number 0 < x < 1` | `0.5` |', '| `maxSliceMessages` | `integer 1–100000` | `512` |']) {
      assert.ok(page.includes(row), row)
    }
    assert.match(page, /\| `virtualPartitions\.distribution` \| `'consistent' \\\| 'balanced' \\\| 'sticky'` \| `'sticky'` \| How keys map to lanes/)
    assert.match(page, /\| `backpressure\.maxInFlightBytes` \| `integer ≥ 1024` \| `67108864 \(64 MiB\)` \|/)
  })
})

describe('the options table', () => {
  const schema: SchemaNode = {
    type: 'object',
    required: ['name'],
    properties: {
      $schema: { type: 'string' },
      name: { type: 'string', description: 'A name.' },
      size: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 4, description: 'How many.' },
      bufferBytes: { type: 'integer', minimum: 1024, default: 2 * 1024 * 1024, description: 'Bytes.' },
      split: {
        anyOf: [
          { type: 'boolean', const: false },
          { type: 'object', properties: { lanes: { type: 'integer', minimum: 1, maximum: 8, default: 2, description: 'Lanes.' } } },
        ],
        description: 'false, or how to split.',
      },
      key: {
        anyOf: [{ type: 'string', const: 'key' }, { type: 'object', required: ['header'], properties: { header: { type: 'string' } } }, { not: {} }],
        default: 'key',
        description: 'Where the key is.',
      },
      settings: { type: 'object', additionalProperties: { type: ['string', 'number'] }, default: {} },
    },
  }

  it('writes types in words: bounds, literals, unions, inline objects and records; what only JavaScript can give is left out', () => {
    assert.equal(typeOf({ type: 'integer', minimum: 1, maximum: 8 }), 'integer 1–8')
    assert.equal(typeOf({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), 'integer ≥ 0')
    assert.equal(typeOf({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }), 'number 0 < x < 1')
    assert.equal(typeOf({ type: 'string', enum: ['raw', 'json'] }), "'raw' | 'json'")
    assert.equal(typeOf(schema.properties?.key as SchemaNode), "'key' | { header: string }")
    assert.equal(typeOf(schema.properties?.settings as SchemaNode), 'object of string | number')
  })

  it('gives a described object its own rows by dotted path, marks what is required, and skips $schema', () => {
    assert.deepEqual(optionRows(schema), [
      { path: 'name', type: 'string', default: 'required', description: 'A name.' },
      { path: 'size', type: 'integer ≥ 1', default: '4', description: 'How many.' },
      { path: 'bufferBytes', type: 'integer ≥ 1024', default: '2097152 (2 MiB)', description: 'Bytes.' },
      { path: 'split', type: 'false | object', default: '—', description: 'false, or how to split.' },
      { path: 'split.lanes', type: 'integer 1–8', default: '2', description: 'Lanes.' },
      { path: 'key', type: "'key' | { header: string }", default: "'key'", description: 'Where the key is.' },
      { path: 'settings', type: 'object of string | number', default: '{}', description: '' },
    ])
  })
})
