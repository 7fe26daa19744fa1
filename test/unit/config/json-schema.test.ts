import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { configFileJsonSchema, configFileJsonSchemaText } from '../../../src/config/json-schema.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = [resolve(here, '../../../..'), resolve(here, '../../..')].find((dir) => existsSync(join(dir, 'kvp.schema.json'))) as string

type Json = Record<string, unknown> & { properties: Record<string, Json>; items: Json; anyOf: Json[]; required: string[] }

describe('kvp.schema.json, the JSON Schema of config files', () => {
  test('the committed file is what the options schema gives (npm run schema writes it)', () => {
    assert.ok(root, 'kvp.schema.json is at the repository root')
    assert.equal(readFileSync(join(root, 'kvp.schema.json'), 'utf8'), configFileJsonSchemaText(), 'kvp.schema.json is out of date: run npm run schema')
  })

  test('it requires groupId and topics, closes every object, and lets a file name its own $schema', () => {
    const schema = configFileJsonSchema() as Json
    assert.deepEqual(schema.required, ['groupId', 'topics'])
    assert.equal(schema.additionalProperties, false)
    assert.equal(schema.properties.$schema?.type, 'string')
    const route = schema.properties.topics?.items as Json
    assert.deepEqual(route.required, ['topic', 'handler'])
    assert.equal(route.additionalProperties, false)
    assert.equal(schema.properties.backpressure?.additionalProperties, false)
  })

  test('defaults and limits come from the options schema', () => {
    const schema = configFileJsonSchema() as Json
    assert.equal(schema.properties.maxSliceMessages?.default, 512)
    const route = schema.properties.topics?.items as Json
    const vp = route.properties.virtualPartitions as Json
    const split = vp.anyOf.find((alternative) => alternative.type === 'object') as Json
    assert.equal(split.properties.lanes?.maximum, 4096)
    assert.equal(split.properties.lanes?.default, 64)
    assert.deepEqual(split.properties.distribution?.enum, ['consistent', 'balanced', 'sticky'])
  })

  test('what only JavaScript can give (a partitioner function, Infinity) matches nothing in a file', () => {
    const schema = configFileJsonSchema() as Json
    const route = schema.properties.topics?.items as Json
    const split = (route.properties.virtualPartitions as Json).anyOf.find((alternative) => alternative.type === 'object') as Json
    const partitioner = split.properties.partitioner as Json
    assert.ok(partitioner.anyOf.some((alternative) => JSON.stringify(alternative) === '{"not":{}}'))
    assert.ok(
      partitioner.anyOf.every((alternative) => Object.keys(alternative).length > 0),
      'no alternative accepts anything',
    )
    const maxAttempts = (route.properties.retry as Json).properties.maxAttempts as Json
    assert.ok(
      maxAttempts.anyOf.every((alternative) => Object.keys(alternative).length > 0),
      'no alternative accepts anything',
    )
  })
})
