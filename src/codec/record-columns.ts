import type { Message as KafkaMessage } from 'node-rdkafka'

/**
 * The messages of a task, packed as columns into one buffer that travels beside the
 * protobuf task envelope (both transferred, neither copied). Packing a message costs two
 * memcpys and a few typed-array stores, where a protobuf message per record cost a dozen
 * short-lived writer objects on the main thread — the engine's bottleneck. The worker
 * reads Buffer views into the transferred buffer: nothing is copied there either.
 *
 * Layout (little-endian, typed arrays 8-byte aligned), for n records:
 *   u32 n, u32 (padding)
 *   f64 offset[n], f64 timestamp[n]
 *   i32 keyLength[n]   (-1: null key)
 *   i32 valueLength[n] (-1: null value)
 *   u32 headerCount[n]
 *   u32 dataStart[n]   (where the record's key, value and headers begin)
 *   then per record: key bytes, value bytes, and per header: u32 nameLength, name (UTF-8),
 *   u32 valueLength, value bytes
 */

const NULL = -1
const HEADER_BYTES = 8
const FIXED_BYTES_PER_RECORD = 8 + 8 + 4 + 4 + 4 + 4

type HeaderPair = [string, Buffer]

function headerPairs(message: KafkaMessage): HeaderPair[] | undefined {
  const headers = message.headers
  if (headers === undefined || headers.length === 0) return undefined
  const pairs: HeaderPair[] = []
  for (const header of headers) {
    for (const name of Object.keys(header)) {
      const value = header[name] as string | Buffer
      pairs.push([name, typeof value === 'string' ? Buffer.from(value) : value])
    }
  }
  return pairs
}

interface Columns {
  offsets: Float64Array
  timestamps: Float64Array
  keyLengths: Int32Array
  valueLengths: Int32Array
  headerCounts: Uint32Array
  dataStarts: Uint32Array
}

function columns(buffer: ArrayBuffer, byteOffset: number, n: number): Columns {
  let at = byteOffset + HEADER_BYTES
  const f64 = (): Float64Array => {
    const view = new Float64Array(buffer, at, n)
    at += 8 * n
    return view
  }
  const i32 = (): Int32Array => {
    const view = new Int32Array(buffer, at, n)
    at += 4 * n
    return view
  }
  const u32 = (): Uint32Array => {
    const view = new Uint32Array(buffer, at, n)
    at += 4 * n
    return view
  }
  return { offsets: f64(), timestamps: f64(), keyLengths: i32(), valueLengths: i32(), headerCounts: u32(), dataStarts: u32() }
}

/** Packs runs of lane messages into one buffer of its own (safe to transfer). */
export class RecordColumnsWriter {
  #runs: Array<{ messages: KafkaMessage[]; head: number; count: number }> = []
  #count = 0
  #dataBytes = 0
  /** Header pairs of records that have headers (rare), by record index. */
  #headers: Map<number, HeaderPair[]> | undefined

  get count(): number {
    return this.#count
  }

  /** Adds a lane's run of messages; returns the index of its first record. */
  add(messages: KafkaMessage[], head: number, count: number): number {
    const first = this.#count
    this.#runs.push({ messages, head, count })
    let bytes = 0
    for (let i = head, r = first; i < head + count; i++, r++) {
      const message = messages[i] as KafkaMessage
      const key = message.key
      if (key !== null && key !== undefined) bytes += typeof key === 'string' ? Buffer.byteLength(key) : key.length
      if (message.value) bytes += message.value.length
      if (message.headers !== undefined) {
        const pairs = headerPairs(message)
        if (pairs) {
          this.#headers ??= new Map()
          this.#headers.set(r, pairs)
          for (const [name, value] of pairs) bytes += 8 + Buffer.byteLength(name) + value.length
        }
      }
    }
    this.#dataBytes += bytes
    this.#count += count
    return first
  }

  finish(): Uint8Array {
    const n = this.#count
    const fixed = HEADER_BYTES + n * FIXED_BYTES_PER_RECORD
    const buffer = new ArrayBuffer(fixed + this.#dataBytes)
    const out = Buffer.from(buffer)
    out.writeUInt32LE(n, 0)
    const c = columns(buffer, 0, n)
    let data = fixed
    let r = 0
    for (const run of this.#runs) {
      const end = run.head + run.count
      for (let i = run.head; i < end; i++, r++) {
        const message = run.messages[i] as KafkaMessage
        c.offsets[r] = message.offset
        c.timestamps[r] = message.timestamp ?? 0
        c.dataStarts[r] = data
        const key = message.key
        if (key === null || key === undefined) {
          c.keyLengths[r] = NULL
        } else if (typeof key === 'string') {
          const written = out.write(key, data)
          c.keyLengths[r] = written
          data += written
        } else {
          c.keyLengths[r] = key.length
          out.set(key, data)
          data += key.length
        }
        const value = message.value
        if (value === null || value === undefined) {
          c.valueLengths[r] = NULL
        } else {
          c.valueLengths[r] = value.length
          out.set(value, data)
          data += value.length
        }
        const pairs = this.#headers?.get(r)
        c.headerCounts[r] = pairs ? pairs.length : 0
        if (pairs) {
          for (const [name, headerValue] of pairs) {
            const nameLength = out.write(name, data + 4)
            out.writeUInt32LE(nameLength, data)
            data += 4 + nameLength
            out.writeUInt32LE(headerValue.length, data)
            out.set(headerValue, data + 4)
            data += 4 + headerValue.length
          }
        }
      }
    }
    return new Uint8Array(buffer)
  }
}

/** Reads packed columns; every Buffer handed out is a view into the given bytes. */
export class RecordColumnsReader {
  readonly count: number
  readonly #buf: Buffer
  readonly #c: Columns

  constructor(bytes: Uint8Array) {
    if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice()
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (buf.length < HEADER_BYTES) throw new RangeError('record columns are truncated: no header')
    const n = buf.readUInt32LE(0)
    if (buf.length < HEADER_BYTES + n * FIXED_BYTES_PER_RECORD) throw new RangeError(`record columns are truncated: ${n} records announced`)
    this.#buf = buf
    this.count = n
    this.#c = columns(bytes.buffer as ArrayBuffer, bytes.byteOffset, n)
    const last = n - 1
    if (n > 0) {
      const c = this.#c
      let end = (c.dataStarts[last] as number) + Math.max(0, c.keyLengths[last] as number) + Math.max(0, c.valueLengths[last] as number)
      for (let h = 0; h < (c.headerCounts[last] as number); h++) {
        end += 4 + buf.readUInt32LE(end)
        end += 4 + buf.readUInt32LE(end)
      }
      if (end > buf.length) throw new RangeError(`record columns are truncated at record ${last}`)
    }
  }

  offset(r: number): number {
    return this.#c.offsets[r] as number
  }

  timestamp(r: number): number {
    return this.#c.timestamps[r] as number
  }

  key(r: number): Buffer | null {
    const length = this.#c.keyLengths[r] as number
    if (length === NULL) return null
    const start = this.#c.dataStarts[r] as number
    return this.#buf.subarray(start, start + length)
  }

  value(r: number): Buffer | null {
    const length = this.#c.valueLengths[r] as number
    if (length === NULL) return null
    const start = (this.#c.dataStarts[r] as number) + Math.max(0, this.#c.keyLengths[r] as number)
    return this.#buf.subarray(start, start + length)
  }

  /** Headers as node-rdkafka gives them: `[{ name: Buffer }, ...]`. */
  headers(r: number): Array<Record<string, Buffer>> | undefined {
    const count = this.#c.headerCounts[r] as number
    if (count === 0) return undefined
    let at = (this.#c.dataStarts[r] as number) + Math.max(0, this.#c.keyLengths[r] as number) + Math.max(0, this.#c.valueLengths[r] as number)
    const headers: Array<Record<string, Buffer>> = []
    for (let h = 0; h < count; h++) {
      const nameLength = this.#buf.readUInt32LE(at)
      const name = this.#buf.toString('utf8', at + 4, at + 4 + nameLength)
      at += 4 + nameLength
      const valueLength = this.#buf.readUInt32LE(at)
      headers.push({ [name]: this.#buf.subarray(at + 4, at + 4 + valueLength) })
      at += 4 + valueLength
    }
    return headers
  }
}
