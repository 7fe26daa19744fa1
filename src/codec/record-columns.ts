import type { Message as KafkaMessage } from 'node-rdkafka'
import type { BufferPool } from './buffer-pool.js'
import { InternalError } from '../errors.js'

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

/**
 * The fixed columns, read through two views: f64 holds offset[0..n) then timestamp[0..n);
 * i32 holds keyLength, valueLength, headerCount and dataStart, n each. Two views rather
 * than six keep a reader small: the engine holds one per lane per poll.
 */
interface Columns {
  f64: Float64Array
  i32: Int32Array
}

function columns(buffer: ArrayBuffer, byteOffset: number, n: number): Columns {
  const at = byteOffset + HEADER_BYTES
  return { f64: new Float64Array(buffer, at, 2 * n), i32: new Int32Array(buffer, at + 16 * n, 4 * n) }
}

/**
 * A run of records to pack: lane messages as node-rdkafka gave them (`messages[order[k]]`
 * for k in [head, head + count), or `messages[k]` without an order), or rows of packed records.
 */
type Run = { messages: KafkaMessage[]; order: ArrayLike<number> | undefined; head: number; count: number; reader?: undefined } | { reader: RecordColumnsReader; head: number; count: number }

/** What a writer hands its reader: the views it packed through, so nothing is made or checked twice. */
interface Packed extends Columns {
  buf: Buffer
}

/** Packs runs of lane messages into one buffer of its own (safe to transfer). */
export class RecordColumnsWriter {
  #runs: Run[] = []
  #count = 0
  #dataBytes = 0
  /** Header pairs of records that have headers (rare), by record index. */
  #headers: Map<number, HeaderPair[]> | undefined

  get count(): number {
    return this.#count
  }

  /**
   * Adds a run of messages, `messages[head..head + count)`, or with `order` the messages
   * at `order[head..head + count)`; returns the index of its first record.
   */
  add(messages: KafkaMessage[], head: number, count: number, order?: ArrayLike<number>): number {
    const first = this.#count
    this.#runs.push({ messages, order, head, count })
    let bytes = 0
    for (let i = head, r = first; i < head + count; i++, r++) {
      const message = messages[order === undefined ? i : (order[i] as number)] as KafkaMessage
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

  /**
   * Adds `count` already packed records, from row `head` of `reader`; returns the index of
   * the first. They are copied by finish(), so `reader`'s bytes must not change before it.
   */
  addRows(reader: RecordColumnsReader, head: number, count: number): number {
    const first = this.#count
    if (count === 0) return first
    this.#runs.push({ reader, head, count })
    this.#dataBytes += reader.dataEnd(head + count - 1) - reader.dataStart(head)
    this.#count += count
    return first
  }

  /** Packs everything added into a buffer of its own, or one from `pool` (which may be larger). */
  finish(pool?: BufferPool): Uint8Array {
    const { buf } = this.#pack(pool)
    return new Uint8Array(buf.buffer, 0, buf.length)
  }

  /** Packs everything added, as finish() does, and reads it back without copying or checking it again. */
  finishReader(pool?: BufferPool): RecordColumnsReader {
    const packed = this.#pack(pool)
    return new RecordColumnsReader(packed.buf, packed)
  }

  #pack(pool: BufferPool | undefined): Packed {
    const n = this.#count
    const fixed = HEADER_BYTES + n * FIXED_BYTES_PER_RECORD
    const total = fixed + this.#dataBytes
    const buffer = pool ? pool.acquire(total) : new ArrayBuffer(total)
    const out = Buffer.from(buffer, 0, total)
    out.writeUInt32LE(n, 0)
    const { f64, i32 } = columns(buffer, 0, n)
    let data = fixed
    let r = 0
    for (const run of this.#runs) {
      if (run.reader !== undefined) {
        // Packed rows: the fixed columns row by row, their data (contiguous) in one copy.
        const source = run.reader
        const from = source.dataStart(run.head)
        const to = source.dataEnd(run.head + run.count - 1)
        const shift = data - from
        for (let row = run.head; row < run.head + run.count; row++, r++) source.copyRow(row, f64, i32, n, r, shift)
        out.set(source.bytes.subarray(from, to), data)
        data += to - from
        continue
      }
      const end = run.head + run.count
      const order = run.order
      for (let i = run.head; i < end; i++, r++) {
        const message = run.messages[order === undefined ? i : (order[i] as number)] as KafkaMessage
        f64[r] = message.offset
        f64[n + r] = message.timestamp ?? 0
        i32[3 * n + r] = data
        const key = message.key
        if (key === null || key === undefined) {
          i32[r] = NULL
        } else if (typeof key === 'string') {
          const written = out.write(key, data)
          i32[r] = written
          data += written
        } else {
          i32[r] = key.length
          out.set(key, data)
          data += key.length
        }
        const value = message.value
        if (value === null || value === undefined) {
          i32[n + r] = NULL
        } else {
          i32[n + r] = value.length
          out.set(value, data)
          data += value.length
        }
        const pairs = this.#headers?.get(r)
        i32[2 * n + r] = pairs ? pairs.length : 0
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
    return { buf: out, f64, i32 }
  }
}

/** Reads packed columns; every Buffer handed out is a view into the given bytes. */
export class RecordColumnsReader {
  readonly count: number
  readonly #buf: Buffer
  readonly #f64: Float64Array
  readonly #i32: Int32Array

  /** Reads `bytes`, checking that they hold what they announce; `packed` is for the writer's own (see finishReader). */
  constructor(bytes: Uint8Array, packed?: Packed) {
    if (packed !== undefined) {
      this.#buf = packed.buf
      this.#f64 = packed.f64
      this.#i32 = packed.i32
      this.count = packed.f64.length / 2
      return
    }
    if (bytes.byteOffset % 8 !== 0) bytes = bytes.slice()
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (buf.length < HEADER_BYTES) throw new InternalError('record columns are truncated: no header')
    const n = buf.readUInt32LE(0)
    if (buf.length < HEADER_BYTES + n * FIXED_BYTES_PER_RECORD) throw new InternalError(`record columns are truncated: ${n} records announced`)
    this.#buf = buf
    this.count = n
    const { f64, i32 } = columns(bytes.buffer as ArrayBuffer, bytes.byteOffset, n)
    this.#f64 = f64
    this.#i32 = i32
    if (n > 0) {
      const last = n - 1
      let end = this.#headersStart(last)
      for (let h = 0; h < 2 * this.#headerCount(last) && end <= buf.length; h++) {
        end = end + 4 > buf.length ? Infinity : end + 4 + buf.readUInt32LE(end)
      }
      if (end > buf.length) throw new InternalError(`record columns are truncated at record ${last}`)
    }
  }

  /** The packed bytes (a view, not a copy). */
  get bytes(): Buffer {
    return this.#buf
  }

  offset(r: number): number {
    return this.#f64[r] as number
  }

  timestamp(r: number): number {
    return this.#f64[this.count + r] as number
  }

  key(r: number): Buffer | null {
    const length = this.#i32[r] as number
    if (length === NULL) return null
    const start = this.dataStart(r)
    return this.#buf.subarray(start, start + length)
  }

  value(r: number): Buffer | null {
    const length = this.#i32[this.count + r] as number
    if (length === NULL) return null
    const start = this.dataStart(r) + Math.max(0, this.#i32[r] as number)
    return this.#buf.subarray(start, start + length)
  }

  /** The value's length in bytes (0 for a null value), as node-rdkafka's `size`. */
  size(r: number): number {
    return Math.max(0, this.#i32[this.count + r] as number)
  }

  /** Headers as node-rdkafka gives them: `[{ name: Buffer }, ...]`. */
  headers(r: number): Array<Record<string, Buffer>> | undefined {
    const count = this.#headerCount(r)
    if (count === 0) return undefined
    let at = this.#headersStart(r)
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

  /** Record `r` as a node-rdkafka message of `topic`/`partition` (key, value, headers are views). */
  message(r: number, topic: string, partition: number): KafkaMessage {
    const headers = this.headers(r)
    return {
      topic,
      partition,
      offset: this.offset(r),
      timestamp: this.timestamp(r),
      key: this.key(r),
      value: this.value(r),
      size: this.size(r),
      ...(headers ? { headers } : {}),
    }
  }

  /** Where record `r`'s key, value and headers begin in `bytes`. */
  dataStart(r: number): number {
    return this.#i32[3 * this.count + r] as number
  }

  /** Where record `r`'s data ends in `bytes`. */
  dataEnd(r: number): number {
    let at = this.#headersStart(r)
    for (let h = this.#headerCount(r); h > 0; h--) {
      at += 4 + this.#buf.readUInt32LE(at)
      at += 4 + this.#buf.readUInt32LE(at)
    }
    return at
  }

  /** Copies row `r`'s fixed columns into another pack's columns (row `to` of `n`), its data moved by `shift`. */
  copyRow(r: number, f64: Float64Array, i32: Int32Array, n: number, to: number, shift: number): void {
    const count = this.count
    f64[to] = this.#f64[r] as number
    f64[n + to] = this.#f64[count + r] as number
    i32[to] = this.#i32[r] as number
    i32[n + to] = this.#i32[count + r] as number
    i32[2 * n + to] = this.#i32[2 * count + r] as number
    i32[3 * n + to] = (this.#i32[3 * count + r] as number) + shift
  }

  #headerCount(r: number): number {
    return this.#i32[2 * this.count + r] as number
  }

  #headersStart(r: number): number {
    return this.dataStart(r) + Math.max(0, this.#i32[r] as number) + Math.max(0, this.#i32[this.count + r] as number)
  }
}
