/**
 * Scenarios whose handler writes records with `ctx.produce` (../fixtures/producing-handler.ts
 * and its kin): an input topic with messages, fresh output and dead-letter topics, and an
 * engine in this process running the handler over the input.
 */
import { startEngine } from '../../src/index.js'
import type { Engine, TopicRoute } from '../../src/index.js'
import { engineOptions } from './engine-run.js'
import { uniqueName } from './kafka.js'
import { producingHandler } from './paths.js'
import { ensureTopic, produceMessages } from './produce.js'

/** The producing handlers' settings (KVP_TEST_*): cleared before an engine of this process gets its own. */
export const PRODUCING_ENV = [
  'KVP_TEST_OUTPUT',
  'KVP_TEST_DELAY_MS',
  'KVP_TEST_DEAD_EVERY',
  'KVP_TEST_FAIL_AFTER_PRODUCE',
  'KVP_TEST_BAD_OFFSET',
  'KVP_TEST_BIG_OFFSET',
  'KVP_TEST_LOST_OFFSET',
  'KVP_TEST_LOST_TOPIC',
  'KVP_TEST_POISON_OFFSET',
  'KVP_TEST_EXIT_OFFSET',
  'KVP_TEST_EXIT_FILE',
]

export interface OutputTopics {
  input: string
  output: string
  deadLetter: string
  groupId: string
}

export interface InputMessages {
  count: number
  keys: number
  /** Value size in bytes. */
  size: number
}

/** Fresh names; the output and dead-letter topics created, and `input` filled with messages. */
export async function outputTopics(bootstrapServers: string, input: InputMessages): Promise<OutputTopics> {
  const names = { input: uniqueName('orders'), output: uniqueName('orders-out'), deadLetter: uniqueName('orders-dlq'), groupId: uniqueName('group') }
  await ensureTopic(bootstrapServers, names.output)
  await ensureTopic(bootstrapServers, names.deadLetter)
  await produceMessages({ bootstrapServers, topic: names.input, count: input.count, keys: input.keys, size: input.size })
  return names
}

export interface ProducingEngineOptions {
  /** The handler module (default: the producing handler). */
  handler?: string
  /** Its settings beyond KVP_TEST_OUTPUT, which names the output topic. */
  env?: Record<string, string>
  /** Route settings beyond the input, the handler, 16 lanes and the dead-letter topic. */
  route?: Partial<TopicRoute>
  /** Top-level startEngine() options (engineOptions() of ./engine-run.ts gives the rest). */
  engine?: Record<string, unknown>
}

/** An engine of this process running the handler over `names.input`, writing to `names.output`, dead-lettering to `names.deadLetter`. */
export async function startProducingEngine(bootstrapServers: string, names: OutputTopics, options: ProducingEngineOptions = {}): Promise<Engine> {
  for (const name of PRODUCING_ENV) delete process.env[name]
  Object.assign(process.env, { KVP_TEST_OUTPUT: names.output }, options.env)
  const route: TopicRoute = {
    topic: names.input,
    handler: options.handler ?? producingHandler,
    virtualPartitions: { lanes: 16 },
    deadLetter: { topic: names.deadLetter },
    ...options.route,
  }
  return startEngine(engineOptions(bootstrapServers, names.groupId, route, options.engine))
}
