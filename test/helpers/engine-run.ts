import type { TestContext } from 'node:test'
import { startEngine } from '../../src/index.js'
import type { Engine, EngineOptions, EventChannel, TopicRoute } from '../../src/index.js'
import { ensureTopic, produceMessages } from './produce.js'
import { allMessages, endOffsets, uniqueName, waitFor } from './kafka.js'
import { recordingHandler, tempFile } from './paths.js'
import { coverage, readRecords } from './records.js'
import type { HandledRecord } from './records.js'

/** The recording handlers' settings (KVP_TEST_*): cleared before a scenario sets its own. */
export const TEST_ENV = [
  'KVP_TEST_DELAY_MS',
  'KVP_TEST_FAIL',
  'KVP_TEST_HANG',
  'KVP_TEST_STALL',
  'KVP_TEST_EXIT',
  'KVP_TEST_SLOW',
  'KVP_TEST_MARK_BELOW',
  'KVP_TEST_TAG',
  'KVP_TEST_HOLD',
  'KVP_TEST_HOLD_FILE',
  'KVP_TEST_TIMER_THROW',
  'KVP_TEST_OOM',
  'KVP_TEST_ABORTABLE',
  'KVP_TEST_ABORT_RECORD',
]

export interface ScenarioOptions {
  bootstrapServers: string
  count: number
  keys?: number
  /** Value size in bytes (default 40). */
  size?: number
  partition?: number
  /** Environment for the recording handler (KVP_TEST_*). */
  env?: Record<string, string>
  route?: Partial<TopicRoute>
  engine?: Record<string, unknown>
  json?: boolean
}

/** Removes every recording-handler setting from this process's environment (worker threads copy it). */
export function clearHandlerEnv(): void {
  for (const name of TEST_ENV) delete process.env[name]
}

/**
 * Sets the handlers' environment for the engines this process starts next (their worker
 * threads copy it when they start): every KVP_TEST_* variable is removed first, then `env` set.
 */
export function setHandlerEnv(env: Record<string, string>): void {
  for (const name of Object.keys(process.env)) if (name.startsWith('KVP_TEST_')) delete process.env[name]
  Object.assign(process.env, env)
}

/**
 * Environment for a `kvp run` child with the recording handler: `env`, and every other
 * KVP_TEST_* setting cleared (a scenario of this process may have set them).
 */
export function handlerEnv(env: Record<string, string>): Record<string, string> {
  return { ...Object.fromEntries(TEST_ENV.map((name) => [name, ''])), ...env }
}

/** Produces to a fresh topic, then starts an engine (fresh group) with the recording handler. */
export async function startScenario(options: ScenarioOptions): Promise<{ engine: Engine; topic: string; groupId: string; record: string }> {
  const topic = uniqueName('t')
  const groupId = uniqueName('g')
  const record = tempFile('handled.tsv')
  clearHandlerEnv()
  Object.assign(process.env, options.env ?? {}, { KVP_TEST_RECORD: record })
  const deadLetter = options.route?.deadLetter
  if (deadLetter) await ensureTopic(options.bootstrapServers, deadLetter.topic)
  await produceMessages({
    bootstrapServers: options.bootstrapServers,
    topic,
    count: options.count,
    keys: options.keys ?? 100,
    size: options.size ?? 40,
    ...(options.partition === undefined ? {} : { partition: options.partition }),
    ...(options.json ? { json: true } : {}),
  })
  const engine = await startEngine(engineOptions(options.bootstrapServers, groupId, { topic, handler: recordingHandler, ...options.route }, options.engine))
  return { engine, topic, groupId, record }
}

/** A scenario's names: its topic and dead-letter topic (both created), its group, the recording handler's file. */
export interface DeadLetterNames {
  topic: string
  deadLetterTopic: string
  groupId: string
  record: string
}

/** Fresh names for a scenario with a dead-letter topic; both topics are created, empty. */
export async function deadLetterNames(bootstrapServers: string, prefix: string): Promise<DeadLetterNames> {
  const names = { topic: uniqueName(prefix), deadLetterTopic: uniqueName('dlq'), groupId: uniqueName('group'), record: tempFile('handled.tsv') }
  await ensureTopic(bootstrapServers, names.topic)
  await ensureTopic(bootstrapServers, names.deadLetterTopic)
  return names
}

/**
 * Runs a scenario (startScenario) until its `count` messages are handled, within `timeoutMs`,
 * and stops its engine (stopped when the test ends too, should it fail first). Resolves with
 * what startScenario gives and the records the handler wrote.
 */
export async function runScenario(t: TestContext, options: ScenarioOptions, timeoutMs = 60_000): Promise<{ engine: Engine; topic: string; groupId: string; record: string; records: HandledRecord[] }> {
  const started = await startScenario(options)
  t.after(() => started.engine.stop())
  await untilHandled(started.engine, options.count, timeoutMs)
  await started.engine.stop()
  return { ...started, records: readRecords(started.record) }
}

/**
 * startEngine() options for one route with the tests' defaults, 2 threads and a 6 s session;
 * `extra` adds top-level options or replaces these (its `kafka` replaces the session setting).
 */
export function engineOptions(bootstrapServers: string, groupId: string, route: TopicRoute, extra: Record<string, unknown> = {}): EngineOptions {
  return { brokers: bootstrapServers, groupId, topics: [route], threads: 2, kafka: { 'session.timeout.ms': 6000 }, ...extra }
}

/** The messages of `topic`, up to its end offsets now, that no record shows handled (`partition:offset`). */
export async function unhandledMessages(bootstrapServers: string, topic: string, records: HandledRecord[]): Promise<string[]> {
  return coverage(records, allMessages(await endOffsets(bootstrapServers, topic))).missing
}

export async function untilHandled(engine: Engine, count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${count} messages done`, () => engine.stats().totals.handled >= count, timeoutMs)
}

/**
 * Collects what an engine running in this process publishes on `channel` (of `topic` only,
 * when given) until `stop()`; subscribe before the engine starts to miss nothing.
 */
export function listen<T>(channel: EventChannel<T>, topic?: string): { events: T[]; stop(): void } {
  const events: T[] = []
  const listener = (event: T): void => {
    if (topic === undefined || (event as { topic?: string }).topic === topic) events.push(event)
  }
  channel.subscribe(listener)
  return { events, stop: () => channel.unsubscribe(listener) }
}
