import { existsSync, readFileSync } from 'node:fs'

/** One line the recording handler wrote: a message it handled. */
export interface HandledRecord {
  topic: string
  partition: number
  offset: number
  /** The message key as text; '' for a null key (the recording handler writes a null key as ''). */
  key: string
  lane: number
  attempt: number
  start: number
  end: number
  /** KVP_TEST_TAG of the process that handled it ('' when unset). */
  tag: string
}

export function readRecords(file: string): HandledRecord[] {
  if (!existsSync(file)) return []
  const text = readFileSync(file, 'utf8')
  const records: HandledRecord[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const [topic, partition, offset, key, lane, attempt, start, end, tag] = line.split('\t')
    records.push({
      topic: topic as string,
      partition: Number(partition),
      offset: Number(offset),
      key: key as string,
      lane: Number(lane),
      attempt: Number(attempt),
      start: Number(start),
      end: Number(end),
      tag: tag ?? '',
    })
  }
  return records
}

export function countLines(file: string): number {
  if (!existsSync(file)) return 0
  const text = readFileSync(file, 'utf8')
  let count = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) count++
  return count
}

const id = (r: { partition: number; offset: number }): string => `${r.partition}:${r.offset}`

/** Messages (partition:offset) handled more than once, and those expected but never handled. */
export function coverage(records: HandledRecord[], expected: Iterable<{ partition: number; offset: number }>): { missing: string[]; duplicates: string[] } {
  const seen = new Map<string, number>()
  for (const record of records) seen.set(id(record), (seen.get(id(record)) ?? 0) + 1)
  const missing: string[] = []
  for (const message of expected) if (!seen.has(id(message))) missing.push(id(message))
  const duplicates = [...seen.entries()].filter(([, n]) => n > 1).map(([k]) => k)
  return { missing, duplicates }
}

/**
 * How null-keyed messages are ordered, per distribution (docs/guarantees.md, "Distributions"): `sticky` and
 * `consistent` treat them as one key (in offset order, one at a time); `balanced` makes each
 * its own group, with no order between them.
 */
export type NullKeyOrder = 'one key' | 'unordered'

/**
 * Per-key order violations: within one partition, messages of a key must finish in offset
 * order and never run at the same time. Records are taken in the order they were written,
 * every attempt of a retried message included. Null-keyed messages (key '') are checked as
 * one key unless `nullKeys` is 'unordered'.
 */
export function orderViolations(records: HandledRecord[], nullKeys: NullKeyOrder = 'one key'): string[] {
  const last = new Map<string, HandledRecord>()
  const violations: string[] = []
  for (const record of records) {
    if (record.key === '' && nullKeys === 'unordered') continue
    const k = `${record.topic}/${record.partition}/${record.key === '' ? '(null key)' : record.key}`
    const previous = last.get(k)
    if (previous) {
      if (record.offset <= previous.offset) violations.push(`${k}: offset ${record.offset} (attempt ${record.attempt}) after ${previous.offset}`)
      if (record.start < previous.end) violations.push(`${k}: offset ${record.offset} started at ${record.start} before ${previous.offset} ended at ${previous.end}`)
    }
    last.set(k, record)
  }
  return violations
}
