import type { PartitionerOption, RawMessage, VirtualKey } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { firstIssue, partitionerSchema } from '../config/schema.js'

/**
 * The partitioner decides *whether and how to find* a message's virtual key; a
 * distributor (./distributor.ts) then decides which lane that key goes to.
 */
export type KeyExtractor = (message: RawMessage) => VirtualKey

export interface ExtractorContext {
  /** Decodes a protobuf payload into a plain object; present only when the route's payload is protobuf. */
  decodeProtobuf?: (value: Buffer) => Record<string, unknown>
}

/**
 * Builds the function that reads a message's virtual key, from the route's `partitioner`
 * option. Bad options throw a ConfigError naming `field` now, not on the first message
 * (the options schema, ../config/schema.ts, says what is valid).
 *
 * - `'key'`: the Kafka message key (a Buffer or string), or null.
 * - `{ header: 'name' }`: the first header with that name, or null when absent.
 * - `{ json: 'a.b.c' }`: the value parsed as JSON, then that dotted path (array indexes are
 *   path segments too: `items.0.id`). A missing path or an empty value gives null; invalid
 *   JSON throws, which the engine reports as a partitioner error.
 * - `{ protobuf: 'a.b' }`: the value decoded with the route's protobuf type, then the path.
 * - a function: called as is.
 *
 * Values found at a path become keys this way: strings as they are; numbers, booleans and
 * bigints (and int64 `Long`s) as their string; bytes as a Buffer; other objects and arrays
 * as their JSON; null and undefined as null.
 */
export function createKeyExtractor(option: PartitionerOption, field: string, context: ExtractorContext = {}): KeyExtractor {
  const parsed = partitionerSchema.safeParse(option)
  if (!parsed.success) {
    const issue = firstIssue(parsed.error)
    throw new ConfigError(issue.field === 'options' ? field : `${field}.${issue.field}`, issue.message)
  }
  const valid = parsed.data
  if (valid === 'key') return keyOf
  if (typeof valid === 'function') return valid

  if ('header' in valid) {
    const name = valid.header
    return (message) => headerOf(message, name)
  }

  if ('json' in valid) {
    const path = valid.json.split('.')
    return (message) => {
      const value = message.value
      if (value === null || value === undefined || value.length === 0) return null
      return toKey(walk(JSON.parse(value.toString('utf8')) as unknown, path))
    }
  }

  const path = valid.protobuf.split('.')
  const decode = context.decodeProtobuf
  if (decode === undefined) {
    throw new ConfigError(field, 'a { protobuf } partitioner needs payload: { protobuf, type } on the route, to know how to decode the value')
  }
  return (message) => {
    const value = message.value
    if (value === null || value === undefined) return null
    return toKey(walk(decode(value), path))
  }
}

function keyOf(message: RawMessage): VirtualKey {
  return message.key ?? null
}

function headerOf(message: RawMessage, name: string): VirtualKey {
  const headers = message.headers
  if (headers === undefined) return null
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]
    if (header !== undefined && Object.hasOwn(header, name)) return header[name] ?? null
  }
  return null
}

function walk(root: unknown, path: readonly string[]): unknown {
  let current = root
  for (let i = 0; i < path.length; i++) {
    if (typeof current !== 'object' || current === null) return undefined
    const segment = path[i] as string
    if (!Object.hasOwn(current, segment)) return undefined
    current = (current as Record<string, unknown>)[segment]
  }
  return current
}

function toKey(value: unknown): VirtualKey {
  switch (typeof value) {
    case 'string':
      return value
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'object':
      if (value === null) return null
      if (Buffer.isBuffer(value)) return value
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      if (isLong(value)) return value.toString()
      return JSON.stringify(value)
    default:
      return null
  }
}

/** protobufjs decodes int64 fields to `Long` objects unless told otherwise. */
function isLong(value: object): value is { toString(): string } {
  const candidate = value as { low?: unknown; high?: unknown; unsigned?: unknown; toString?: unknown }
  return (
    typeof candidate.low === 'number' &&
    typeof candidate.high === 'number' &&
    typeof candidate.unsigned === 'boolean' &&
    typeof candidate.toString === 'function' &&
    candidate.toString !== Object.prototype.toString
  )
}
