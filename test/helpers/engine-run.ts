import { startEngine } from '../../src/index.js'
import type { Engine, TopicRoute } from '../../src/index.js'
import { ensureTopic, produceMessages } from './produce.js'
import { uniqueName, waitFor } from './kafka.js'
import { recordingHandler, tempFile } from './paths.js'

const TEST_ENV = ['KVP_TEST_DELAY_MS', 'KVP_TEST_FAIL', 'KVP_TEST_HANG', 'KVP_TEST_STALL', 'KVP_TEST_EXIT', 'KVP_TEST_SLOW', 'KVP_TEST_MARK_BELOW', 'KVP_TEST_TAG']

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

/** Produces to a fresh topic, then starts an engine (fresh group) with the recording handler. */
export async function startScenario(options: ScenarioOptions): Promise<{ engine: Engine; topic: string; groupId: string; record: string }> {
  const topic = uniqueName('t')
  const groupId = uniqueName('g')
  const record = tempFile('handled.tsv')
  for (const name of TEST_ENV) delete process.env[name]
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
  const engine = await startEngine({
    brokers: options.bootstrapServers,
    groupId,
    topics: [{ topic, handler: recordingHandler, ...options.route }],
    threads: 2,
    kafka: { 'session.timeout.ms': 6000 },
    ...options.engine,
  })
  return { engine, topic, groupId, record }
}

export async function untilHandled(engine: Engine, count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${count} messages done`, () => engine.stats().totals.handled >= count, timeoutMs)
}
