/**
 * docs/configuration.md, made from the options schema (src/config/schema.ts) by way of the
 * JSON Schema of config files, so that the page cannot drift from what `startEngine()` and
 * `kvp run --config` accept: every option with its type, default and the schema's own
 * description. `npm run schema` writes it (tools/write-config-docs.ts); a unit test fails
 * when the committed page differs from what this renders.
 */
import { configFileJsonSchema } from '../src/config/json-schema.js'

/** The part of a JSON Schema node this page reads. */
export interface SchemaNode {
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  default?: unknown
  description?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minItems?: number
  properties?: Record<string, SchemaNode>
  required?: string[]
  additionalProperties?: boolean | SchemaNode
  items?: SchemaNode
  anyOf?: SchemaNode[]
  not?: unknown
}

/** One line of an options table. */
export interface OptionRow {
  path: string
  type: string
  default: string
  description: string
}

/** Bounds this large mean "no upper bound" (zod's safe-integer maximum). */
const UNBOUNDED = Number.MAX_SAFE_INTEGER
const MIB = 1024 * 1024

/** What only JavaScript can give (a function, Infinity) is `{ not: {} }` in the file schema. */
function jsOnly(node: SchemaNode): boolean {
  return node.not !== undefined && Object.keys(node).length === 1
}

function alternatives(node: SchemaNode): SchemaNode[] {
  return (node.anyOf ?? [node]).filter((alternative) => !jsOnly(alternative))
}

/**
 * The object (or object alternative) whose fields get rows of their own: one whose fields
 * the schema describes. The small objects of a union (`{ header: 'name' }`) are written
 * inline in the type instead.
 */
function objectWithFields(node: SchemaNode): SchemaNode | undefined {
  return alternatives(node).find((alternative) => Object.values(alternative.properties ?? {}).some((field) => field.description !== undefined))
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value)
}

function range(node: SchemaNode): string {
  const low = node.minimum !== undefined ? node.minimum : node.exclusiveMinimum
  const high = node.maximum !== undefined && node.maximum < UNBOUNDED ? node.maximum : node.exclusiveMaximum
  if (node.exclusiveMinimum !== undefined || node.exclusiveMaximum !== undefined) {
    return [low !== undefined ? `${low} <` : '', 'x', high !== undefined ? `< ${high}` : ''].filter(Boolean).join(' ')
  }
  if (low !== undefined && high !== undefined) return `${low}–${high}`
  if (low !== undefined) return `≥ ${low}`
  return high !== undefined ? `≤ ${high}` : ''
}

/** A node's type in words: `integer 1–4096`, `'raw' \| 'json'`, `{ header: string }`, ... */
export function typeOf(node: SchemaNode): string {
  const parts = alternatives(node)
  if (parts.length > 1 || node.anyOf !== undefined) return parts.map((part) => typeOf(part)).join(' | ')
  if (node.const !== undefined) return literal(node.const)
  if (node.enum !== undefined) return node.enum.map(literal).join(' | ')
  if (node.type === 'array') return `array of ${objectWithFields(node.items ?? {}) !== undefined ? 'objects (below)' : typeOf(node.items ?? {})}`
  if (node.type === 'object') {
    const fields = Object.entries(node.properties ?? {})
    if (fields.length === 0) {
      const values = typeof node.additionalProperties === 'object' ? typeOf(node.additionalProperties) : 'any'
      return `object of ${values}`
    }
    if (objectWithFields(node) !== undefined) return 'object'
    return `{ ${fields.map(([name, field]) => `${name}: ${typeOf(field)}`).join(', ')} }`
  }
  const type = Array.isArray(node.type) ? node.type.join(' | ') : (node.type ?? 'any')
  const bounds = type === 'integer' || type === 'number' ? range(node) : ''
  return bounds === '' ? type : `${type} ${bounds}`
}

function defaultOf(name: string, node: SchemaNode, required: boolean): string {
  if (required) return 'required'
  if (node.default === undefined || objectWithFields(node) !== undefined) return '—'
  const value = node.default
  if (typeof value === 'number' && /Bytes$/.test(name) && value % MIB === 0) return `${value} (${value / MIB} MiB)`
  return literal(value)
}

/** `|` would end a table cell, and a line break the row. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

/**
 * The rows of an object's fields, depth first: a field that is an object (or may be one)
 * gets its own row, then a row per field inside it, named by dotted path from `prefix`.
 * Arrays of objects are left to a table of their own.
 */
export function optionRows(node: SchemaNode, prefix = ''): OptionRow[] {
  const rows: OptionRow[] = []
  const required = new Set(node.required ?? [])
  for (const [name, field] of Object.entries(node.properties ?? {})) {
    if (name === '$schema') continue
    const path = `${prefix}${name}`
    const inner = objectWithFields(field)
    const items = field.items !== undefined ? objectWithFields(field.items) : undefined
    const description = field.description ?? (inner !== undefined ? 'The fields below.' : items !== undefined ? 'Each one as the table below says.' : '')
    rows.push({ path, type: typeOf(field), default: defaultOf(name, field, required.has(name)), description })
    if (inner !== undefined) rows.push(...optionRows(inner, `${path}.`))
  }
  return rows
}

function table(rows: readonly OptionRow[]): string[] {
  return [
    '| option | type | default | description |',
    '|---|---|---|---|',
    ...rows.map((row) => {
      const fallback = row.default === 'required' || row.default === '—'
      return `| \`${row.path}\` | ${cell(`\`${row.type}\``)} | ${cell(fallback ? row.default : `\`${row.default}\``)} | ${cell(row.description)} |`
    }),
  ]
}

/** docs/configuration.md as the options schema gives it. */
export function configurationPage(schema: SchemaNode = configFileJsonSchema() as SchemaNode): string {
  const route = schema.properties?.topics?.items ?? {}
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated by tools/write-config-docs.ts from the options schema (src/config/schema.ts): change the schema, then run `npm run schema`. A unit test fails while this page differs. -->',
    '',
    'The options of `startEngine()` and of a `kvp run --config` file are one schema (`src/config/schema.ts`). It gives',
    'their types, the defaults below, validation (a wrong or missing option is a `ConfigError` naming the field, and `kvp run` exits 2), and',
    '[`kvp.schema.json`](../kvp.schema.json), the JSON Schema of config files: point an editor at it from `kvp.json` with',
    '`"$schema": "./node_modules/kvp/kvp.schema.json"` (`kvp run` ignores that key). On the command line, flags override the file',
    '(`kvp run --help` lists them), and librdkafka settings also come from `-X key=value` and `KVP_KAFKA_*` variables',
    '([operating.md](operating.md#the-command-line)).',
    '',
    'A default of — means none, or one computed when the engine starts, as the description says. Durations are in',
    'milliseconds.',
    '',
    'librdkafka settings (`kafka`, `producer`, `deadLetter.kafka`) pass through as they are and win over the defaults kvp',
    'sets, such as `auto.commit.interval.ms` 1000 and a shallow prefetch. The settings kvp owns are refused with a',
    '`ConfigError` naming them: `group.id` and `bootstrap.servers` (use `groupId` and `brokers`), `enable.auto.commit`,',
    '`enable.auto.offset.store` and the rebalance and commit callbacks.',
    '',
    '## Engine',
    '',
    'The exactly-once options are explained in [exactly-once.md](exactly-once.md).',
    '',
    ...table(optionRows(schema)),
    '',
    '## Each topic (`topics[i]`)',
    '',
    'A route: which topic, which handler, and how its partitions are split into lanes (how each distribution keeps',
    'per-key order: [guarantees.md](guarantees.md#distributions)).',
    '',
    ...table(optionRows(route)),
    '',
  ]
  return `${lines.join('\n')}\n`
}
