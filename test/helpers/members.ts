/**
 * Consumer-group members as `kvp run` child processes, for the scale-out scenarios: each
 * logs its engine events (./event-log-preload.ts) and tags its handled records, and every
 * member, stream and reader a file starts is cleaned up after its tests.
 */
import { strict as assert } from 'node:assert'
import { after } from 'node:test'
import { performance } from 'node:perf_hooks'
import { eventLogEnv, stopProcess } from './group.js'
import type { OffsetReader, StreamProducer } from './group.js'
import { uniqueName } from './kafka.js'
import { recordingHandler, tempFile } from './paths.js'
import { ensureDead, runArgs, startKvp } from './process.js'
import type { KvpProcess } from './process.js'

/** One scenario's topic, group and record file. */
export interface Scenario {
  topic: string
  groupId: string
  record: string
}

export interface Member {
  tag: string
  proc: KvpProcess
  /** Its event log (JSON lines). */
  events: string
}

export function scenario(prefix: string): Scenario {
  return { topic: uniqueName(prefix), groupId: uniqueName('group'), record: tempFile('handled.tsv') }
}

/** The clock the recording handler and the event log use. */
export const now = (): number => performance.timeOrigin + performance.now()

export interface MemberOptions {
  /** librdkafka settings, as `-X key=value` (default: a 6 s session on the classic protocol). */
  kafka?: string[]
  /** More `kvp run` flags. */
  args?: string[]
  /** Environment for the recording handler beyond the record file and the tag. */
  env?: Record<string, string>
}

/**
 * Call at the top level of a test file, before `useBroker()` (hooks run in order): the
 * members, streams and readers it starts are stopped after the file's tests.
 */
export function useMembers(bootstrapServers: () => string): {
  start(s: Scenario, tag: string, options?: MemberOptions): Promise<Member>
  streams: StreamProducer[]
  readers: OffsetReader[]
} {
  const processes: KvpProcess[] = []
  const streams: StreamProducer[] = []
  const readers: OffsetReader[] = []
  after(async () => {
    for (const stream of streams) await stream.stop().catch(() => {})
    for (const reader of readers) await reader.close().catch(() => {})
    for (const proc of processes) await ensureDead(proc)
  })
  return {
    streams,
    readers,
    async start(s, tag, options = {}) {
      const events = tempFile(`${tag}-events.jsonl`)
      const kafka = options.kafka ?? ['session.timeout.ms=6000']
      const args = [
        ...runArgs({
          brokers: bootstrapServers(),
          group: s.groupId,
          topic: s.topic,
          handler: recordingHandler,
          flags: ['--lanes', '16', '--threads', '2', '--stats-interval-ms', '0'],
          kafka: [...kafka, 'auto.commit.interval.ms=200'],
        }),
        ...(options.args ?? []),
      ]
      const proc = await startKvp(args, { KVP_TEST_RECORD: s.record, KVP_TEST_TAG: tag, ...options.env, ...eventLogEnv(events) })
      processes.push(proc)
      return { tag, proc, events }
    },
  }
}

/** Stops a member with SIGTERM and asserts that it exits 0 (with its output, should it not). */
export async function stopCleanly(member: Member): Promise<void> {
  assert.equal(await stopProcess(member.proc, 'SIGTERM'), 0, `${member.tag} stops cleanly on SIGTERM:\n${member.proc.output()}`)
}
