import { availableParallelism } from 'node:os'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.js'
import { checkConsumerSettings } from '../kafka/consumer-config.js'
import type {
  DeadLetterOptions,
  Distribution,
  EngineOptions,
  PartitionerOption,
  PayloadOption,
  TopicRoute,
} from './options.js'

/** A topic route with every default filled in. */
export interface ResolvedRoute {
  index: number
  topic: string
  /** file: URL of the handler module. */
  handlerUrl: string
  /** false: one lane per partition. */
  split: boolean
  partitioner: PartitionerOption
  lanes: number
  distribution: Distribution
  maxAttempts: number
  backoffMs: number
  maxBackoffMs: number
  deadLetter: DeadLetterOptions | undefined
  handlerTimeoutMs: number | undefined
  payload: PayloadOption
  manualOffsets: boolean
}

export interface ResolvedOptions {
  brokers: string
  mockBrokers: number
  groupId: string
  routes: ResolvedRoute[]
  threads: number
  concurrencyPerThread: number
  maxSliceMessages: number
  maxTaskMessages: number
  batchSize: number
  pollTimeoutMs: number
  maxInFlightPerPartition: number
  maxInFlightBytes: number
  resumeRatio: number
  revokeTimeoutMs: number
  fromBeginning: boolean
  kafka: Record<string, string | number | boolean>
}

export const DEFAULTS = {
  brokers: 'mock',
  maxPartitions: 64,
  distribution: 'consistent',
  concurrencyPerThread: 32,
  maxSliceMessages: 512,
  batchSize: 1000,
  pollTimeoutMs: 10,
  maxInFlightPerPartition: 5000,
  maxInFlightBytes: 64 * 1024 * 1024,
  resumeRatio: 0.5,
  revokeTimeoutMs: 10_000,
  backoffMs: 100,
  maxBackoffMs: 30_000,
  maxAttemptsWithDeadLetter: 10,
} as const

const ENGINE_KEYS = new Set([
  'brokers', 'groupId', 'topics', 'threads', 'concurrencyPerThread', 'maxSliceMessages', 'batchSize',
  'backpressure', 'revokeTimeoutMs', 'fromBeginning', 'kafka', 'mockBrokers', 'pollTimeoutMs',
])
const ROUTE_KEYS = new Set([
  'topic', 'handler', 'virtualPartitions', 'retry', 'deadLetter', 'handlerTimeoutMs', 'payload', 'manualOffsets',
])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkKeys(value: Record<string, unknown>, allowed: Set<string>, field: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new ConfigError(field ? `${field}.${key}` : key, `unknown option (expected one of: ${[...allowed].join(', ')})`)
    }
  }
}

function integer(value: unknown, field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(field, `expected a non-empty string, got ${JSON.stringify(value)}`)
  }
  return value
}

/** A handler given as a path (relative to the working directory) or a URL becomes a URL. */
export function handlerUrl(handler: string): string {
  if (/^(file|data|node):/.test(handler)) return handler
  const path = isAbsolute(handler) ? handler : resolvePath(process.cwd(), handler)
  return pathToFileURL(path).href
}

function resolvePayload(value: unknown, field: string): PayloadOption {
  if (value === undefined) return 'raw'
  if (value === 'raw' || value === 'json') return value
  if (isObject(value) && typeof value.protobuf === 'string' && typeof value.type === 'string') {
    return { protobuf: value.protobuf, type: value.type }
  }
  throw new ConfigError(field, `expected 'raw', 'json' or { protobuf: 'file.proto', type: 'pkg.Message' }, got ${JSON.stringify(value)}`)
}

function resolvePartitioner(value: unknown, field: string): PartitionerOption {
  if (value === undefined || value === 'key') return 'key'
  if (typeof value === 'function') return value as PartitionerOption
  if (isObject(value)) {
    const keys = Object.keys(value)
    const only = keys.length === 1 ? keys[0] : undefined
    if ((only === 'header' || only === 'json' || only === 'protobuf') && typeof value[only] === 'string' && value[only] !== '') {
      return { [only]: value[only] } as PartitionerOption
    }
  }
  throw new ConfigError(field, `expected 'key', { header: 'name' }, { json: 'a.b' }, { protobuf: 'field' } or a function, got ${JSON.stringify(value)}`)
}

function resolveRoute(raw: unknown, index: number): ResolvedRoute {
  const field = `topics[${index}]`
  if (!isObject(raw)) throw new ConfigError(field, 'expected an object { topic, handler, ... }')
  checkKeys(raw, ROUTE_KEYS, field)
  const route = raw as unknown as TopicRoute
  const topic = nonEmptyString(route.topic, `${field}.topic`)
  const handler = nonEmptyString(route.handler, `${field}.handler`)

  const vp = route.virtualPartitions
  let split = true
  let partitioner: PartitionerOption = 'key'
  let lanes: number = DEFAULTS.maxPartitions
  let distribution: Distribution = DEFAULTS.distribution
  if (vp === false) {
    split = false
    lanes = 1
  } else if (vp !== undefined) {
    if (!isObject(vp)) throw new ConfigError(`${field}.virtualPartitions`, 'expected false or { partitioner, maxPartitions, distribution }')
    checkKeys(vp, new Set(['partitioner', 'maxPartitions', 'distribution']), `${field}.virtualPartitions`)
    partitioner = resolvePartitioner(vp.partitioner, `${field}.virtualPartitions.partitioner`)
    lanes = integer(vp.maxPartitions, `${field}.virtualPartitions.maxPartitions`, DEFAULTS.maxPartitions, 1, 4096)
    const dist = vp.distribution ?? DEFAULTS.distribution
    if (dist !== 'consistent' && dist !== 'balanced') {
      throw new ConfigError(`${field}.virtualPartitions.distribution`, `expected 'consistent' or 'balanced', got ${JSON.stringify(dist)}`)
    }
    distribution = dist
  }

  let deadLetter: DeadLetterOptions | undefined
  if (route.deadLetter !== undefined) {
    if (!isObject(route.deadLetter)) throw new ConfigError(`${field}.deadLetter`, 'expected { topic: name }')
    checkKeys(route.deadLetter, new Set(['topic', 'kafka']), `${field}.deadLetter`)
    deadLetter = { topic: nonEmptyString(route.deadLetter.topic, `${field}.deadLetter.topic`) }
    const kafka: unknown = route.deadLetter.kafka
    if (kafka !== undefined) {
      if (!isObject(kafka)) throw new ConfigError(`${field}.deadLetter.kafka`, 'expected an object of librdkafka producer settings')
      for (const [key, value] of Object.entries(kafka)) {
        if (!['string', 'number', 'boolean'].includes(typeof value)) throw new ConfigError(`${field}.deadLetter.kafka.${key}`, `expected a string, number or boolean, got ${typeof value}`)
      }
      deadLetter.kafka = kafka as Record<string, string | number | boolean>
    }
    if (deadLetter.topic === topic) throw new ConfigError(`${field}.deadLetter.topic`, 'must differ from the topic it serves')
  }

  const retry: unknown = route.retry ?? {}
  if (!isObject(retry)) throw new ConfigError(`${field}.retry`, 'expected { maxAttempts, backoffMs, maxBackoffMs }')
  checkKeys(retry, new Set(['maxAttempts', 'backoffMs', 'maxBackoffMs']), `${field}.retry`)
  let maxAttempts: number
  if (retry.maxAttempts === Infinity) maxAttempts = Infinity
  else maxAttempts = integer(retry.maxAttempts, `${field}.retry.maxAttempts`, deadLetter ? DEFAULTS.maxAttemptsWithDeadLetter : Infinity, 1)
  const backoffMs = integer(retry.backoffMs, `${field}.retry.backoffMs`, DEFAULTS.backoffMs, 0)
  const maxBackoffMs = integer(retry.maxBackoffMs, `${field}.retry.maxBackoffMs`, Math.max(DEFAULTS.maxBackoffMs, backoffMs), backoffMs)

  const handlerTimeoutMs = route.handlerTimeoutMs === undefined
    ? undefined
    : integer(route.handlerTimeoutMs, `${field}.handlerTimeoutMs`, 0, 1)
  if (route.manualOffsets !== undefined && typeof route.manualOffsets !== 'boolean') {
    throw new ConfigError(`${field}.manualOffsets`, `expected a boolean, got ${JSON.stringify(route.manualOffsets)}`)
  }
  const payload = resolvePayload(route.payload, `${field}.payload`)
  if (isObject(partitioner) && 'protobuf' in partitioner && (typeof payload !== 'object')) {
    throw new ConfigError(`${field}.virtualPartitions.partitioner`, "{ protobuf: field } needs payload: { protobuf: 'file.proto', type: 'pkg.Message' } on the route")
  }

  return {
    index,
    topic,
    handlerUrl: handlerUrl(handler),
    split,
    partitioner,
    lanes,
    distribution,
    maxAttempts,
    backoffMs,
    maxBackoffMs,
    deadLetter,
    handlerTimeoutMs,
    payload,
    manualOffsets: route.manualOffsets ?? false,
  }
}

/** Validates options and fills defaults. Throws ConfigError naming the first wrong field. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (!isObject(input)) throw new ConfigError('options', 'expected an object')
  checkKeys(input, ENGINE_KEYS, '')
  const options = input as unknown as EngineOptions
  const brokers = options.brokers === undefined ? DEFAULTS.brokers : nonEmptyString(options.brokers, 'brokers')
  const groupId = nonEmptyString(options.groupId, 'groupId')
  if (!Array.isArray(options.topics) || options.topics.length === 0) {
    throw new ConfigError('topics', 'expected a non-empty array of { topic, handler, ... }')
  }
  const routes = options.topics.map((route, index) => resolveRoute(route, index))
  const seen = new Set<string>()
  for (const route of routes) {
    if (seen.has(route.topic)) throw new ConfigError(`topics[${route.index}].topic`, `topic '${route.topic}' appears twice`)
    seen.add(route.topic)
  }

  const backpressure: unknown = options.backpressure ?? {}
  if (!isObject(backpressure)) throw new ConfigError('backpressure', 'expected an object')
  checkKeys(backpressure, new Set(['maxInFlightPerPartition', 'maxInFlightBytes', 'resumeRatio']), 'backpressure')
  const resumeRatio = backpressure.resumeRatio ?? DEFAULTS.resumeRatio
  if (typeof resumeRatio !== 'number' || !(resumeRatio > 0 && resumeRatio < 1)) {
    throw new ConfigError('backpressure.resumeRatio', `expected a number between 0 and 1, got ${JSON.stringify(resumeRatio)}`)
  }

  const kafka = options.kafka ?? {}
  if (!isObject(kafka)) throw new ConfigError('kafka', 'expected an object of librdkafka settings')
  for (const [key, value] of Object.entries(kafka)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new ConfigError(`kafka.${key}`, `expected a string, number or boolean, got ${typeof value}`)
    }
  }
  checkConsumerSettings(kafka)
  if (options.fromBeginning !== undefined && typeof options.fromBeginning !== 'boolean') {
    throw new ConfigError('fromBeginning', `expected a boolean, got ${JSON.stringify(options.fromBeginning)}`)
  }

  const maxSliceMessages = integer(options.maxSliceMessages, 'maxSliceMessages', DEFAULTS.maxSliceMessages, 1, 100_000)
  const threads = integer(options.threads, 'threads', Math.max(2, availableParallelism()), 1, 1024)
  // By default every lane of a partition can have its slice in flight at once.
  const widest = Math.max(...routes.map((route) => route.lanes))
  const concurrencyDefault = Math.max(DEFAULTS.concurrencyPerThread, Math.ceil(widest / threads))
  return {
    brokers,
    mockBrokers: integer(options.mockBrokers, 'mockBrokers', 1, 1, 16),
    groupId,
    routes,
    threads,
    concurrencyPerThread: integer(options.concurrencyPerThread, 'concurrencyPerThread', concurrencyDefault, 1, 10_000),
    maxSliceMessages,
    maxTaskMessages: Math.max(maxSliceMessages, 2048),
    batchSize: integer(options.batchSize, 'batchSize', DEFAULTS.batchSize, 1, 100_000),
    pollTimeoutMs: integer(options.pollTimeoutMs, 'pollTimeoutMs', DEFAULTS.pollTimeoutMs, 0, 60_000),
    maxInFlightPerPartition: integer(backpressure.maxInFlightPerPartition, 'backpressure.maxInFlightPerPartition', DEFAULTS.maxInFlightPerPartition, 1),
    maxInFlightBytes: integer(backpressure.maxInFlightBytes, 'backpressure.maxInFlightBytes', DEFAULTS.maxInFlightBytes, 1024),
    resumeRatio,
    revokeTimeoutMs: integer(options.revokeTimeoutMs, 'revokeTimeoutMs', DEFAULTS.revokeTimeoutMs, 0),
    fromBeginning: options.fromBeginning ?? true,
    kafka: kafka as Record<string, string | number | boolean>,
  }
}
