import { existsSync, readFileSync } from 'node:fs'
import type { HandledRecord } from './records.js'

/** One line payload-recording-handler.ts wrote: a message and what it carried. */
export interface PayloadRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  keyIsBuffer: boolean
  /** The value as text (values up to 256 bytes), null for a null value, undefined when longer. */
  value: string | null | undefined
  valueIsBuffer: boolean
  valueLength: number | null
  sha256: string | null
  /** The decoded payload: null, `{ bytes: n }` for a Buffer, or the decoded object. */
  payload: unknown
  lane: number
  attempt: number
  start: number
  end: number
}

export function readPayloadRecords(file: string): PayloadRecord[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as PayloadRecord)
}

/** The records in the shape `orderViolations` and `coverage` of ./records.ts take. */
export function asHandled(records: PayloadRecord[]): HandledRecord[] {
  return records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, key: r.key ?? '', lane: r.lane, attempt: r.attempt, start: r.start, end: r.end, tag: '' }))
}
