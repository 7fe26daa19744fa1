import type { Message as KafkaMessage } from 'node-rdkafka'

/**
 * The messages of a task, packed as columns into one buffer that rides in the Task's
 * `records` bytes field. Encoding a message costs two memcpy's and no objects, where a
 * protobuf message per record costs a dozen small writer objects (garbage on the main
 * thread, the engine's bottleneck). Decoding hands out Buffer views into the transferred
 * task buffer: nothing is copied.
 *
 * Layout (little-endian), for n records:
 *   u32 n
 *   f64 offset[n], f64 timestamp[n]
 *   i32 keyLength[n]   (-1: null key)
 *   i32 valueLength[n] (-1: null value)
 *   u32 headerCount[n]
 *   then per record: key bytes, value bytes, and per header: u32 nameLength, name (UTF-8),
 *   u32 valueLength, value bytes
 */

const NULL = -1

function keyBytes(key: KafkaMessage['key']): Buffer | null {
  if (key === null || key === undefined) return null
  return typeof key === 'string' ? Buffer.from(key) : key
}

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

/** Packs `count` messages starting at each run's `head` into one buffer. */
export class RecordColumnsWriter {
  #runs: Array<{ messages: KafkaMessage[]; head: number; count: number }> = []
  #count = 0
  #dataBytes = 0
  #headers: Array<HeaderPair[] | undefined> = []

  /** Adds a lane's run of messages; returns the index of its first record. */
  add(messages: KafkaMessage[], head: number, count: number): number {
    const first = this.#count
    this.#runs.push({ messages, head, count })
    for (let i = head; i < head + count; i++) {
      const message = messages[i] as KafkaMessage
      const key = message.key
      if (key !== null && key !== undefined) this.#dataBytes += typeof key === 'string' ? Buffer.byteLength(key) : key.length
      if (message.value) this.#dataBytes += message.value.length
      const pairs = headerPairs(message)
      this.#headers.push(pairs)
      if (pairs) for (const [name, value] of pairs) this.#dataBytes += 8 + Buffer.byteLength(name) + value.length
    }
    this.#count += count
    return first
  }

  /** The packed columns, in a buffer of their own. */
  finish(): Uint8Array {
    const n = this.#count
    const fixed = 4 + n * (8 + 8 + 4 + 4 + 4)
    const out = Buffer.from(new ArrayBuffer(fixed + this.#dataBytes))
    out.writeUInt32LE(n, 0)
    const offsetsAt = 4
    const timestampsAt = offsetsAt + 8 * n
    const keyLengthsAt = timestampsAt + 8 * n
    const valueLengthsAt = keyLengthsAt + 4 * n
    const headerCountsAt = valueLengthsAt + 4 * n
    let data = headerCountsAt + 4 * n
    let r = 0
    for (const run of this.#runs) {
      for (let i = run.head; i < run.head + run.count; i++, r++) {
        const message = run.messages[i] as KafkaMessage
        out.writeDoubleLE(message.offset, offsetsAt + 8 * r)
        out.writeDoubleLE(message.timestamp ?? 0, timestampsAt + 8 * r)
        const key = keyBytes(message.key)
        if (key === null) {
          out.writeInt32LE(NULL, keyLengthsAt + 4 * r)
        } else {
          out.writeInt32LE(key.length, keyLengthsAt + 4 * r)
          out.set(key, data)
          data += key.length
        }
        const value = message.value
        if (value === null || value === undefined) {
          out.writeInt32LE(NULL, valueLengthsAt + 4 * r)
        } else {
          out.writeInt32LE(value.length, valueLengthsAt + 4 * r)
          out.set(value, data)
          data += value.length
        }
        const pairs = this.#headers[r]
        out.writeUInt32LE(pairs ? pairs.length : 0, headerCountsAt + 4 * r)
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
    return new Uint8Array(out.buffer, 0, out.length)
  }
}

/** Reads packed columns; every Buffer handed out is a view into `bytes`. */
export class RecordColumnsReader {
  readonly count: number
  readonly #buf: Buffer
  readonly #offsetsAt: number
  readonly #timestampsAt: number
  readonly #keyLengthsAt: number
  readonly #valueLengthsAt: number
  readonly #headerCountsAt: number
  /** Where each record's data starts. */
  readonly #starts: Uint32Array

  constructor(bytes: Uint8Array) {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#buf = buf
    const n = buf.readUInt32LE(0)
    this.count = n
    this.#offsetsAt = 4
    this.#timestampsAt = 4 + 8 * n
    this.#keyLengthsAt = this.#timestampsAt + 8 * n
    this.#valueLengthsAt = this.#keyLengthsAt + 4 * n
    this.#headerCountsAt = this.#valueLengthsAt + 4 * n
    const starts = new Uint32Array(n)
    let data = this.#headerCountsAt + 4 * n
    for (let r = 0; r < n; r++) {
      starts[r] = data
      data += Math.max(0, buf.readInt32LE(this.#keyLengthsAt + 4 * r)) + Math.max(0, buf.readInt32LE(this.#valueLengthsAt + 4 * r))
      const headers = buf.readUInt32LE(this.#headerCountsAt + 4 * r)
      for (let h = 0; h < headers; h++) {
        data += 4 + buf.readUInt32LE(data)
        data += 4 + buf.readUInt32LE(data)
      }
      if (data > buf.length) throw new RangeError(`record columns are truncated at record ${r}`)
    }
    this.#starts = starts
  }

  offset(r: number): number {
    return this.#buf.readDoubleLE(this.#offsetsAt + 8 * r)
  }

  timestamp(r: number): number {
    return this.#buf.readDoubleLE(this.#timestampsAt + 8 * r)
  }

  key(r: number): Buffer | null {
    const length = this.#buf.readInt32LE(this.#keyLengthsAt + 4 * r)
    if (length === NULL) return null
    const start = this.#starts[r] as number
    return this.#buf.subarray(start, start + length)
  }

  value(r: number): Buffer | null {
    const length = this.#buf.readInt32LE(this.#valueLengthsAt + 4 * r)
    if (length === NULL) return null
    const start = (this.#starts[r] as number) + Math.max(0, this.#buf.readInt32LE(this.#keyLengthsAt + 4 * r))
    return this.#buf.subarray(start, start + length)
  }

  /** Headers as node-rdkafka gives them: `[{ name: Buffer }, ...]`. */
  headers(r: number): Array<Record<string, Buffer>> | undefined {
    const count = this.#buf.readUInt32LE(this.#headerCountsAt + 4 * r)
    if (count === 0) return undefined
    let at = (this.#starts[r] as number) + Math.max(0, this.#buf.readInt32LE(this.#keyLengthsAt + 4 * r)) + Math.max(0, this.#buf.readInt32LE(this.#valueLengthsAt + 4 * r))
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
