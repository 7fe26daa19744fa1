/**
 * Helpers for scenarios with several consumer-group members: which member owned which
 * partition when (from the event log that ./event-log-preload.ts writes in each `kvp run`
 * child), a producer that streams at a steady rate while members come and go, and a
 * reader of the group's committed offsets that stays connected between reads.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Kafka from 'node-rdkafka'
import { createProducer } from '../../src/kafka/delivery-producer.js'
import type { KvpProducer } from '../../src/kafka/delivery-producer.js'
import { ensureTopic } from './produce.js'
import type { KvpProcess } from './process.js'
import { orderViolations } from './records.js'
import type { HandledRecord } from './records.js'

export const eventLogPreload = fileURLToPath(new URL('./event-log-preload.js', import.meta.url))

/** Environment that makes a `kvp run` child log its engine events to `eventsFile`. */
export function eventLogEnv(eventsFile: string): Record<string, string> {
  const existing = process.env.NODE_OPTIONS
  return {
    KVP_TEST_EVENTS: eventsFile,
    NODE_OPTIONS: `${existing ? `${existing} ` : ''}--import=${pathToFileURL(eventLogPreload).href}`,
  }
}

export interface RebalanceEvent {
  type: 'rebalance'
  t: number
  pid: number
  kind: 'assign' | 'revoke'
  partitions: Array<{ topic: string; partition: number }>
  generation: number
  cooperative: boolean
}

export interface StaleAckEvent {
  type: 'stale-ack'
  t: number
  pid: number
  topic: string
  partition: number
  generation: number
  handled: number
}

export interface CommitEvent {
  type: 'commit'
  t: number
  pid: number
  reason: string
  offsets: Array<{ topic: string; partition: number; offset: number }>
}

export interface CommitErrorEvent {
  type: 'commit-error'
  t: number
  pid: number
  reason: string
  error: string
  code: unknown
}

export interface HandlerErrorEvent {
  type: 'handler-error'
  t: number
  pid: number
  topic: string
  partition: number
  offset: number
  attempt: number
  willRetry: boolean
  error: string
  code: unknown
}

/** Exactly-once: a transaction committed (with these offsets) or aborted (rewinding these partitions). */
export type TransactionLogEvent = { type: 'transaction'; t: number; pid: number; reason: string } & (
  | { outcome: 'commit'; offsets: Array<{ topic: string; partition: number; offset: number }> }
  | { outcome: 'abort'; error: string; code: unknown; rewound: Array<{ topic: string; partition: number; offset: number }> }
)

export type EngineEvent = RebalanceEvent | StaleAckEvent | CommitEvent | CommitErrorEvent | HandlerErrorEvent | TransactionLogEvent

export function readEvents(file: string): EngineEvent[] {
  if (!existsSync(file)) return []
  const events: EngineEvent[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue
    try {
      events.push(JSON.parse(line) as EngineEvent)
    } catch {
      // A line being written right now; the next read has it whole.
    }
  }
  return events
}

/** The partitions of `topic` a member owns after its events so far (assign adds, revoke removes). */
export function ownedPartitions(events: EngineEvent[], topic: string): Set<number> {
  const owned = new Set<number>()
  for (const event of events) {
    if (event.type !== 'rebalance') continue
    for (const { topic: t, partition } of event.partitions) {
      if (t !== topic) continue
      if (event.kind === 'assign') owned.add(partition)
      else owned.delete(partition)
    }
  }
  return owned
}

/** Times (after `since`) at which an assignment left the member owning all `total` partitions of `topic`. */
export function tookEverything(events: EngineEvent[], topic: string, since: number, total: number): number[] {
  const owned = new Set<number>()
  const times: number[] = []
  for (const event of events) {
    if (event.type !== 'rebalance') continue
    const mine = event.partitions.filter((p) => p.topic === topic)
    for (const { partition } of mine) {
      if (event.kind === 'assign') owned.add(partition)
      else owned.delete(partition)
    }
    if (event.kind === 'assign' && mine.length > 0 && event.t > since && owned.size === total) times.push(event.t)
  }
  return times
}

/** When each partition of `topic` was assigned to a member, in time order. */
export function assignTimes(events: EngineEvent[], topic: string): Array<{ partition: number; at: number }> {
  const out: Array<{ partition: number; at: number }> = []
  for (const event of events) {
    if (event.type !== 'rebalance' || event.kind !== 'assign') continue
    for (const { topic: t, partition } of event.partitions) if (t === topic) out.push({ partition, at: event.t })
  }
  return out.sort((a, b) => a.at - b.at)
}

/**
 * Which of a member's assignments of the record's partition the record was handled under:
 * the index of the last assignment that began before the handler started, or -1.
 * A revoke lets in-flight work finish before the next assignment begins, so a handler that
 * started before an assignment belongs to the earlier one.
 */
export function runIndex(record: HandledRecord, assigns: Array<{ partition: number; at: number }>): number {
  let index = -1
  let n = 0
  for (const { partition, at } of assigns) {
    if (partition !== record.partition) continue
    if (at <= record.start) index = n
    n++
  }
  return index
}

/**
 * Per-key order violations within each run: one member's one assignment of one partition.
 * (Across runs a key legitimately goes back: the new owner restarts from the committed
 * offset.) `assignsByTag` maps each record tag to that member's assignment times.
 */
export function orderViolationsByRun(records: HandledRecord[], assignsByTag: Map<string, Array<{ partition: number; at: number }>>): string[] {
  const runs = new Map<string, HandledRecord[]>()
  const violations: string[] = []
  for (const record of records) {
    const assigns = assignsByTag.get(record.tag)
    if (!assigns) {
      violations.push(`record of ${record.partition}:${record.offset} has unknown tag '${record.tag}'`)
      continue
    }
    const run = runIndex(record, assigns)
    if (run < 0) {
      violations.push(`${record.tag} handled ${record.partition}:${record.offset} at ${record.start.toFixed(0)} before it was ever assigned partition ${record.partition}`)
      continue
    }
    const id = `${record.tag}#${record.partition}#${run}`
    let list = runs.get(id)
    if (!list) {
      list = []
      runs.set(id, list)
    }
    list.push(record)
  }
  for (const [id, list] of runs) for (const violation of orderViolations(list)) violations.push(`${id}: ${violation}`)
  return violations
}

/** A member's rebalances and revoke-time commit results, one line each, times relative to `t0`. */
export function rebalanceTimeline(events: EngineEvent[], t0: number): string[] {
  const lines: string[] = []
  for (const event of events) {
    const at = `${((event.t - t0) / 1000).toFixed(1)}s`
    if (event.type === 'rebalance') lines.push(`${at} ${event.kind} [${event.partitions.map((p) => p.partition).join(',')}]`)
    else if (event.type === 'commit-error' && event.reason !== 'auto') lines.push(`${at} ${event.error}`)
    else if (event.type === 'commit' && event.reason !== 'auto') lines.push(`${at} commit on ${event.reason}: ${event.offsets.map((o) => `${o.partition}@${o.offset}`).join(' ')}`)
  }
  return lines
}

export interface StreamProducer {
  /** Messages handed to the producer so far. */
  readonly produced: number
  /** Stops producing, waits for every delivery report, and closes. Resolves with the count. */
  stop(): Promise<number>
}

/**
 * Produces `ratePerSecond` keyed messages (keys `key-<i % keys>`, librdkafka's partitioner
 * spreads them) until stopped, so every phase of a scenario has fresh messages.
 */
export async function streamMessages(options: { bootstrapServers: string; topic: string; ratePerSecond: number; keys: number; size?: number; firstIndex?: number }): Promise<StreamProducer> {
  await ensureTopic(options.bootstrapServers, options.topic)
  const producer: KvpProducer = await createProducer(options.bootstrapServers, { 'linger.ms': 5 })
  const value = Buffer.alloc(options.size ?? 40, 'v')
  const tickMs = 50
  const perTick = Math.max(1, Math.round((options.ratePerSecond * tickMs) / 1000))
  let i = options.firstIndex ?? 0
  let produced = 0
  const pending: Array<Promise<unknown>> = []
  let failure: unknown
  const timer = setInterval(() => {
    for (let n = 0; n < perTick; n++) {
      const key = `key-${i % options.keys}`
      i++
      produced++
      const delivery = producer.produce(options.topic, null, value, key)
      delivery.catch((error: unknown) => {
        failure ??= error
      })
      pending.push(delivery)
    }
  }, tickMs)
  let stopped: Promise<number> | undefined
  return {
    get produced() {
      return produced
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(timer)
        await Promise.allSettled(pending)
        await producer.close()
        if (failure !== undefined) throw failure
        return produced
      })()
      return stopped
    },
  }
}

export interface OffsetReader {
  /** The group's committed offset for partitions 0..n-1 (-1001 when none). */
  read(): Promise<number[]>
  close(): Promise<void>
}

/** A client of the group that never joins it: it only reads committed offsets (OffsetFetch). */
export async function openOffsetReader(bootstrapServers: string, groupId: string, topic: string, partitions = 4): Promise<OffsetReader> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3 }, {})
  consumer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  const toppars = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
  return {
    async read() {
      const result = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => {
        consumer.committed(toppars, 10_000, (err, offsets) => (err ? reject(err) : resolve(offsets)))
      })
      return Array.from({ length: partitions }, (_, partition) => result.find((entry) => entry.partition === partition)?.offset ?? -1001)
    },
    close() {
      return new Promise<void>((resolve) => {
        if (!consumer.isConnected()) resolve()
        else consumer.disconnect(() => resolve())
      })
    },
  }
}

/** Sends `signal` and waits for the exit; a process still running after `timeoutMs` is killed and the call rejects. */
export async function stopProcess(proc: KvpProcess, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<number | string> {
  proc.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      proc.child.kill('SIGKILL')
      reject(new Error(`kvp did not exit within ${timeoutMs} ms of ${signal}:\n${proc.output().slice(-4000)}`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([proc.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}
