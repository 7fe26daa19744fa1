import { ErrorCodes, InternalError, KvpError } from '../errors.js'

/**
 * Records a handler produced with `ctx.produce()`, packed into one buffer that travels
 * back with the slice's ack. Layout (little-endian), per record:
 *   u32 topicLength, topic (UTF-8), i32 partition (-1: by key),
 *   i32 keyLength (-1: null), key, i32 valueLength (-1: null), value,
 *   u32 headerCount, per header: u32 nameLength, name (UTF-8), u32 valueLength, value
 */

/** A record as a handler gives it to `ctx.produce()`. */
export interface OutputRecord {
  topic: string
  key?: Buffer | string | null
  value: Buffer | string | null
  /** `{ name: value }` or node-rdkafka's `[{ name: value }, ...]`; values are Buffers or strings. */
  headers?: Record<string, Buffer | string> | ReadonlyArray<Record<string, Buffer | string>>
  partition?: number
}

/** A record as the main thread sends it. */
export interface DecodedOutput {
  topic: string
  partition: number | null
  key: Buffer | null
  value: Buffer | null
  headers: Array<Record<string, Buffer>> | undefined
}

const NULL = -1

/** The packed buffer opens with its record count, a u32. */
const COUNT_BYTES = 4

/** A packed buffer (an ack's `outputs`) holds at least one record: it is longer than the count alone. */
export function carriesRecords(packed: Uint8Array | undefined): packed is Uint8Array {
  return packed !== undefined && packed.byteLength > COUNT_BYTES
}

function bad(field: string, message: string): KvpError {
  return new KvpError(ErrorCodes.PRODUCE, `ctx.produce(): ${field} ${message}`, { retryable: false })
}

function bytes(value: unknown, field: string, nullable: boolean): Buffer | null {
  if (value === null || value === undefined) {
    if (nullable) return null
    throw bad(field, 'is required (a Buffer, a string or null)')
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw bad(field, `must be a Buffer, a string or null, got ${typeof value}`)
}

function headerPairs(headers: unknown, field: string): Array<[string, Buffer]> {
  if (headers === undefined || headers === null) return []
  const pairs: Array<[string, Buffer]> = []
  const list = Array.isArray(headers) ? headers : [headers]
  for (let i = 0; i < list.length; i++) {
    const header = list[i] as unknown
    if (typeof header !== 'object' || header === null) throw bad(`${field}[${i}]`, 'must be an object of header values')
    for (const name of Object.keys(header)) {
      const value = bytes((header as Record<string, unknown>)[name], `${field}.${name}`, false) as Buffer
      pairs.push([name, value])
    }
  }
  return pairs
}

/** Packs records as they are produced; validates each one, naming the wrong field. */
export class OutputRecordsWriter {
  #parts: Buffer[] = []
  #count = 0

  get count(): number {
    return this.#count
  }

  /** Validates and packs one record (throws a `KVP_PRODUCE` error naming the field on a bad shape). */
  add(record: unknown): void {
    if (typeof record !== 'object' || record === null || Array.isArray(record))
      throw bad('record', `must be an object { topic, key?, value, headers?, partition? }, got ${record === null ? 'null' : typeof record}`)
    const r = record as Record<string, unknown>
    for (const name of Object.keys(r)) {
      if (name !== 'topic' && name !== 'key' && name !== 'value' && name !== 'headers' && name !== 'partition')
        throw bad(`record.${name}`, 'is not a record field (expected topic, key, value, headers, partition)')
    }
    if (typeof r.topic !== 'string' || r.topic === '') throw bad('record.topic', 'must be a non-empty string')
    if (!('value' in r)) throw bad('record.value', 'is required (a Buffer, a string or null)')
    const partition = r.partition
    if (partition !== undefined && partition !== null && (!Number.isInteger(partition) || (partition as number) < 0))
      throw bad('record.partition', `must be an integer of 0 or more, got ${String(partition)}`)
    const key = bytes(r.key, 'record.key', true)
    const value = bytes(r.value, 'record.value', true)
    const headers = headerPairs(r.headers, 'record.headers')
    const topic = Buffer.from(r.topic, 'utf8')
    let size = 4 + topic.length + 4 + 4 + (key?.length ?? 0) + 4 + (value?.length ?? 0) + 4
    const names = headers.map(([name]) => Buffer.from(name, 'utf8'))
    for (let i = 0; i < headers.length; i++) size += 8 + (names[i] as Buffer).length + (headers[i] as [string, Buffer])[1].length
    const out = Buffer.allocUnsafe(size)
    let at = out.writeUInt32LE(topic.length, 0)
    at += topic.copy(out, at)
    at = out.writeInt32LE(partition === undefined || partition === null ? NULL : (partition as number), at)
    at = out.writeInt32LE(key === null ? NULL : key.length, at)
    if (key) at += key.copy(out, at)
    at = out.writeInt32LE(value === null ? NULL : value.length, at)
    if (value) at += value.copy(out, at)
    at = out.writeUInt32LE(headers.length, at)
    for (let i = 0; i < headers.length; i++) {
      const name = names[i] as Buffer
      const headerValue = (headers[i] as [string, Buffer])[1]
      at = out.writeUInt32LE(name.length, at)
      at += name.copy(out, at)
      at = out.writeUInt32LE(headerValue.length, at)
      at += headerValue.copy(out, at)
    }
    this.#parts.push(out)
    this.#count++
  }

  /** Moves every record of `other` (a handler call's) into this writer. */
  take(other: OutputRecordsWriter): void {
    for (const part of other.#parts) this.#parts.push(part)
    this.#count += other.#count
    other.#parts = []
    other.#count = 0
  }

  /** The records packed so far, in one buffer. */
  finish(): Uint8Array {
    const head = Buffer.allocUnsafe(COUNT_BYTES)
    head.writeUInt32LE(this.#count, 0)
    return Buffer.concat([head, ...this.#parts])
  }
}

/** Unpacks output records; the Buffers are views into `packed`. */
export function decodeOutputRecords(packed: Uint8Array): DecodedOutput[] {
  const buf = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength)
  if (buf.length < COUNT_BYTES) return []
  const n = buf.readUInt32LE(0)
  const records: DecodedOutput[] = new Array(n)
  let at = COUNT_BYTES
  const take = (length: number): Buffer => {
    if (at + length > buf.length) throw new InternalError('output records are truncated')
    const view = buf.subarray(at, at + length)
    at += length
    return view
  }
  for (let i = 0; i < n; i++) {
    const topicLength = buf.readUInt32LE(at)
    at += 4
    const topic = take(topicLength).toString('utf8')
    const partition = buf.readInt32LE(at)
    at += 4
    const keyLength = buf.readInt32LE(at)
    at += 4
    const key = keyLength === NULL ? null : take(keyLength)
    const valueLength = buf.readInt32LE(at)
    at += 4
    const value = valueLength === NULL ? null : take(valueLength)
    const headerCount = buf.readUInt32LE(at)
    at += 4
    let headers: Array<Record<string, Buffer>> | undefined
    if (headerCount > 0) {
      headers = []
      for (let h = 0; h < headerCount; h++) {
        const nameLength = buf.readUInt32LE(at)
        at += 4
        const name = take(nameLength).toString('utf8')
        const length = buf.readUInt32LE(at)
        at += 4
        headers.push({ [name]: take(length) })
      }
    }
    records[i] = { topic, partition: partition === NULL ? null : partition, key, value, headers }
  }
  return records
}
