import { createHash } from 'node:crypto'
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { DecodeError } from '../errors.js'

/**
 * The offsets done above a partition's committed watermark, as text that fits a commit's
 * metadata (Kafka's OffsetCommit metadata is a string, at most `offset.metadata.max.bytes`,
 * 4096 by default). A crash or a handoff then replays only what was not done, instead of
 * everything above the watermark.
 *
 * Layout (before base64): version (1), flags (1: bit 0 deflated), a 4-byte check of the rest,
 * then, deflated or not: the watermark (varint), the number of offsets covered above it
 * (varint), the form (0 runs, 1 bitset) and the body. Offsets are counted from
 * `watermark + 1` (the watermark itself is by definition not done). Runs alternate
 * not-done / done lengths as varints, starting with not-done; the bitset has one bit per
 * offset, least significant first. The smaller form is kept, and deflate only when it helps.
 *
 * When the whole map does not fit, the longest prefix above the watermark that fits is kept
 * (never nothing, as long as the header fits): offsets past it count as not done, which is
 * always safe. Confluent Parallel Consumer drops the whole map in that case.
 */
export const OFFSET_MAP_PREFIX = 'kvp1:'
const VERSION = 1
const FLAG_DEFLATED = 1
const FORM_RUNS = 0
const FORM_BITSET = 1
/** Broker default of `offset.metadata.max.bytes`. */
export const DEFAULT_METADATA_MAX_BYTES = 4096

/** What a committed metadata string says: the offsets above the watermark known to be done. */
export interface OffsetMap {
  /** The committed offset the map belongs to. */
  readonly watermark: number
  /** Offsets below this one (and above the watermark) are covered: done or not. Past it nothing is known. */
  readonly coveredUntil: number
  /** The done offsets, ascending. */
  readonly done: readonly number[]
}

export interface EncodedOffsetMap {
  text: string
  /** The prefix kept: offsets from here on were left out (count as not done). */
  coveredUntil: number
}

/**
 * Encodes `done` (ascending offsets, all above `watermark`) within `maxChars` characters.
 * Returns undefined when nothing above the watermark is done (no metadata needed).
 */
export function encodeOffsetMap(watermark: number, done: readonly number[], maxChars: number = DEFAULT_METADATA_MAX_BYTES): EncodedOffsetMap | undefined {
  const above = done.filter((offset) => offset > watermark)
  if (above.length === 0) return undefined
  const last = above[above.length - 1] as number
  let covered = last + 1 - (watermark + 1)
  const whole = encodeCovering(watermark, above, covered)
  if (whole.length <= maxChars) return { text: whole, coveredUntil: watermark + 1 + covered }
  // The longest prefix that fits: binary search over how many offsets above the watermark are covered.
  let low = 0
  let high = covered
  let best: string | undefined
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    const text = encodeCovering(watermark, above, mid)
    if (text.length <= maxChars) {
      low = mid
      best = text
    } else high = mid - 1
  }
  covered = low
  if (covered === 0 || best === undefined) return undefined
  return { text: best, coveredUntil: watermark + 1 + covered }
}

/** The map covering `count` offsets above the watermark. */
function encodeCovering(watermark: number, above: readonly number[], count: number): string {
  const end = watermark + 1 + count
  const inside = above.filter((offset) => offset < end)
  const runs = encodeRuns(watermark, inside, end)
  const bitset = encodeBitset(watermark, inside, count)
  const form = runs.length <= bitset.length ? [FORM_RUNS, ...runs] : [FORM_BITSET, ...bitset]
  const body = Buffer.from([...varint(watermark), ...varint(count), ...form])
  const deflated = deflateRawSync(body)
  const useDeflate = deflated.length < body.length
  const payload = useDeflate ? deflated : body
  const check = checkOf(payload)
  return OFFSET_MAP_PREFIX + Buffer.concat([Buffer.from([VERSION, useDeflate ? FLAG_DEFLATED : 0]), check, payload]).toString('base64')
}

function encodeRuns(watermark: number, inside: readonly number[], end: number): number[] {
  const bytes: number[] = []
  let next = watermark + 1
  let i = 0
  while (i < inside.length) {
    const start = inside[i] as number
    bytes.push(...varint(start - next))
    let stop = start + 1
    i++
    while (i < inside.length && inside[i] === stop) {
      stop++
      i++
    }
    bytes.push(...varint(stop - start))
    next = stop
  }
  if (next < end) bytes.push(...varint(end - next))
  return bytes
}

function encodeBitset(watermark: number, inside: readonly number[], count: number): number[] {
  const bits = new Uint8Array(Math.ceil(count / 8))
  for (const offset of inside) {
    const index = offset - watermark - 1
    bits[index >> 3] = (bits[index >> 3] as number) | (1 << (index & 7))
  }
  return [...bits]
}

/** A 4-byte check of the payload: a truncated or altered value is not mistaken for a map. */
function checkOf(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 4)
}

/**
 * Reads committed metadata. A map is used only when it is kvp's, whole, of a version this
 * code reads, and belongs to `committed` (a reset offset keeps no map of another one); for
 * anything else (another client's string, another version, a truncated or altered value)
 * `problem` says why, and nothing is skipped.
 */
export function decodeOffsetMap(metadata: string | Buffer | undefined | null, committed: number): { map?: OffsetMap; problem?: string } {
  if (metadata === undefined || metadata === null) return {}
  const text = typeof metadata === 'string' ? metadata : metadata.toString('utf8')
  if (text === '') return {}
  if (!text.startsWith(OFFSET_MAP_PREFIX)) return { problem: 'the committed metadata is not a kvp offset map (another client wrote it)' }
  let raw: Buffer
  try {
    raw = Buffer.from(text.slice(OFFSET_MAP_PREFIX.length), 'base64')
  } catch {
    return { problem: 'the committed offset map is not base64' }
  }
  if (raw.length < 6) return { problem: 'the committed offset map is truncated' }
  const version = raw[0] as number
  if (version !== VERSION) return { problem: `the committed offset map has version ${version}; this kvp reads version ${VERSION}` }
  const flags = raw[1] as number
  const payload = raw.subarray(6)
  if (!checkOf(payload).equals(raw.subarray(2, 6))) return { problem: 'the committed offset map fails its check (truncated or altered)' }
  let body: Buffer
  try {
    body = (flags & FLAG_DEFLATED) !== 0 ? inflateRawSync(payload) : payload
  } catch {
    return { problem: 'the committed offset map does not inflate' }
  }
  try {
    const reader = new VarintReader(body)
    const watermark = reader.next()
    const count = reader.next()
    if (watermark !== committed) return { problem: `the committed offset map belongs to offset ${watermark}, not to the committed ${committed}` }
    const form = reader.byte()
    const done: number[] = []
    const first = watermark + 1
    const end = first + count
    if (form === FORM_RUNS) {
      let at = first
      let doneRun = false
      while (!reader.atEnd()) {
        const length = reader.next()
        if (doneRun) for (let offset = at; offset < at + length; offset++) done.push(offset)
        at += length
        doneRun = !doneRun
      }
      if (at > end) return { problem: 'the committed offset map runs past what it covers' }
    } else if (form === FORM_BITSET) {
      const bits = reader.rest()
      if (bits.length !== Math.ceil(count / 8)) return { problem: 'the committed offset map has a bitset of the wrong length' }
      for (let index = 0; index < count; index++) if (((bits[index >> 3] as number) >> (index & 7)) & 1) done.push(first + index)
    } else return { problem: `the committed offset map has an unknown form ${form}` }
    return { map: { watermark, coveredUntil: end, done } }
  } catch (error) {
    return { problem: `the committed offset map cannot be read: ${(error as Error).message}` }
  }
}

/** Unsigned LEB128 for non-negative safe integers. */
function varint(value: number): number[] {
  const bytes: number[] = []
  let rest = value
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  bytes.push(rest)
  return bytes
}

class VarintReader {
  readonly #bytes: Buffer
  #at = 0

  constructor(bytes: Buffer) {
    this.#bytes = bytes
  }

  atEnd(): boolean {
    return this.#at >= this.#bytes.length
  }

  byte(): number {
    if (this.atEnd()) throw new DecodeError('ends early')
    return this.#bytes[this.#at++] as number
  }

  next(): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.byte()
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return value
      scale *= 0x80
    }
    throw new DecodeError('a number is too long')
  }

  rest(): Buffer {
    const rest = this.#bytes.subarray(this.#at)
    this.#at = this.#bytes.length
    return rest
  }
}
