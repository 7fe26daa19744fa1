import type { PartitionerOption, RawMessage, VirtualKey } from '../config/options.js'
import { ConfigError } from '../errors.js'

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
 * option. Bad options throw a ConfigError naming `field` now, not on the first message.
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
  if (option === 'key') return keyOf
  if (typeof option === 'function') return option
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw invalidOption(field, option)
  }
  const names = Object.keys(option)
  if (names.length !== 1) throw invalidOption(field, option)

  if ('header' in option) {
    const name = option.header
    if (typeof name !== 'string' || name === '') {
      throw new ConfigError(`${field}.header`, `expected a non-empty header name, got ${describe(name)}`)
    }
    return (message) => headerOf(message, name)
  }

  if ('json' in option) {
    const path = parsePath(option.json, `${field}.json`)
    return (message) => {
      const value = message.value
      if (value === null || value === undefined || value.length === 0) return null
      return toKey(walk(JSON.parse(value.toString('utf8')) as unknown, path))
    }
  }

  if ('protobuf' in option) {
    const path = parsePath(option.protobuf, `${field}.protobuf`)
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

  throw invalidOption(field, option)
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

function parsePath(path: unknown, field: string): string[] {
  if (typeof path !== 'string' || path === '') {
    throw new ConfigError(field, `expected a dotted path such as 'order.id', got ${describe(path)}`)
  }
  const segments = path.split('.')
  if (segments.some((segment) => segment === '')) {
    throw new ConfigError(field, `expected a dotted path such as 'order.id' with no empty segments, got ${describe(path)}`)
  }
  return segments
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
  return typeof candidate.low === 'number' && typeof candidate.high === 'number' &&
    typeof candidate.unsigned === 'boolean' && typeof candidate.toString === 'function' &&
    candidate.toString !== Object.prototype.toString
}

function invalidOption(field: string, option: unknown): ConfigError {
  return new ConfigError(field, `expected 'key', { header }, { json }, { protobuf } or a function, got ${describe(option)}`)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  const keys = Object.keys(value)
  return keys.length === 0 ? 'an empty object' : `an object with ${keys.map((key) => JSON.stringify(key)).join(', ')}`
}
