import { secrets } from './redaction.js'
import { randomBytes } from 'node:crypto'
import { availableParallelism, hostname } from 'node:os'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.js'
import { warnMaxPartitions } from './deprecations.js'
import { checkConsumerSettings, checkProducerSettings } from './kafka-settings.js'
import type { DeadLetterOptions, Distribution, KafkaSettings, PartitionerOption, PayloadOption } from './options.js'
import { COMPUTED_DEFAULTS as DEFAULTS, DEFAULT_BACKOFF_MS, DEFAULT_DISTRIBUTION, DEFAULT_LANES, engineOptionsSchema, firstIssue } from './schema.js'
import type { ParsedRoute } from './schema.js'

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
  /** Messages asked of librdkafka per poll while lanes are hungry (see src/kafka/poll-size.ts). */
  batchSize: number
  /** Messages asked per poll while at least `batchSize` wait in lanes for a worker. */
  backedUpBatchSize: number
  pollTimeoutMs: number
  maxInFlightPerPartition: number
  maxInFlightBytes: number
  resumeRatio: number
  revokeTimeoutMs: number
  /** The most bytes of offset map one commit carries; 0: none. */
  offsetMapMaxBytes: number
  fromBeginning: boolean
  kafka: KafkaSettings
  /** librdkafka settings of the engine's producer. */
  producer: KafkaSettings
  /** Exactly-once: the transactional id and interval; undefined for at-least-once. */
  exactlyOnce: { transactionalId: string; intervalMs: number } | undefined
}

/**
 * A task (the slices sent to one worker thread at once) takes no more lanes once it holds
 * this many messages, or one slice's worth if that is more.
 */
const MIN_TASK_MESSAGES = 2048

/**
 * A handler given as a path becomes an absolute `file:` URL, resolved against `baseDir`
 * (the working directory unless said otherwise); a URL (`file:`, `data:`, `https:`, ...)
 * is passed through. A Windows drive letter is a path, not a scheme.
 */
export function handlerUrl(handler: string, baseDir = process.cwd()): string {
  if (isUrlLike(handler)) return handler
  return pathToFileURL(isAbsolute(handler) ? handler : resolvePath(baseDir, handler)).href
}

/** True when `text` starts with a URL scheme of two or more characters and is not an absolute path. */
export function isUrlLike(text: string): boolean {
  return /^[a-z][a-z0-9+.-]+:/i.test(text) && !isAbsolute(text)
}

function resolveRoute(route: ParsedRoute, index: number): ResolvedRoute {
  const vp = route.virtualPartitions
  const split = vp !== false
  if (split && vp?.maxPartitions !== undefined) warnMaxPartitions()
  const retry = route.retry ?? { backoffMs: DEFAULT_BACKOFF_MS }
  return {
    index,
    topic: route.topic,
    handlerUrl: handlerUrl(route.handler),
    split,
    partitioner: split && vp !== undefined ? vp.partitioner : 'key',
    lanes: !split ? 1 : (vp?.lanes ?? vp?.maxPartitions ?? DEFAULT_LANES),
    distribution: split && vp !== undefined ? vp.distribution : DEFAULT_DISTRIBUTION,
    maxAttempts: retry.maxAttempts ?? (route.deadLetter ? DEFAULTS.maxAttemptsWithDeadLetter : Infinity),
    backoffMs: retry.backoffMs,
    maxBackoffMs: retry.maxBackoffMs ?? Math.max(DEFAULTS.maxBackoffMs, retry.backoffMs),
    deadLetter: route.deadLetter,
    handlerTimeoutMs: route.handlerTimeoutMs,
    payload: route.payload,
    manualOffsets: route.manualOffsets,
  }
}

/** Validates options against the schema and fills defaults. Throws ConfigError naming the first wrong field. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const parsed = engineOptionsSchema.safeParse(input)
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error)
    throw new ConfigError(field, message)
  }
  const options = parsed.data
  secrets.addSettings(options.kafka)
  secrets.addSettings(options.producer)
  checkConsumerSettings(options.kafka)
  checkProducerSettings(options.producer)
  const routes = options.topics.map(resolveRoute).map((route) =>
    // A dead-letter producer of its own reaches the same cluster: it takes the consumer's connection and security settings under its own.
    route.deadLetter?.kafka === undefined ? route : { ...route, deadLetter: { ...route.deadLetter, kafka: { ...connectionSettings(options.kafka), ...route.deadLetter.kafka } } },
  )
  if (options.exactlyOnce) checkExactlyOnce(routes, options.kafka)
  const threads = options.threads ?? Math.max(DEFAULTS.minThreads, availableParallelism())
  // By default every lane of a partition can have its slice in flight at once.
  const widest = Math.max(...routes.map((route) => route.lanes))
  // Many lanes share each poll's messages: with too small a poll every slice carries a
  // message or two, and the engine's cost per slice sets the pace (measured on Apache
  // Kafka, 256 lanes: noop 207k → 256k msg/s, io 1 ms 95k → 110k with 4000 a poll).
  const batchSize = options.batchSize ?? Math.min(DEFAULTS.maxBatchSize, Math.max(DEFAULTS.minBatchSize, DEFAULTS.batchPerLane * widest))
  // While messages wait in lanes, slices grow there whatever the poll size; a small poll
  // brings the main thread back to the acks sooner (src/kafka/poll-size.ts).
  const backedUpBatchSize = options.batchSize ?? Math.min(batchSize, DEFAULTS.minBatchSize)
  // A lane sends everything it queued while its slice was out, so the deeper its queue, the
  // fewer round trips per message (a round trip costs a lane ~4 ms on a busy 2-core machine).
  // 80 a lane keeps 64 lanes at 5120 (the memory benchmark's flat result) and gives 1,024
  // lanes room that five polls would not; 160 a lane measured 3–5% more io at 256 lanes
  // and 1.20 instead of 1.11 in the memory benchmark.
  const maxInFlightPerPartition = options.backpressure.maxInFlightPerPartition ?? Math.max(DEFAULTS.minInFlightPerPartition, DEFAULTS.inFlightBatches * batchSize, DEFAULTS.inFlightPerLane * widest)
  return {
    brokers: options.brokers,
    mockBrokers: options.mockBrokers,
    groupId: options.groupId,
    routes,
    threads,
    concurrencyPerThread: options.concurrencyPerThread ?? Math.max(DEFAULTS.concurrencyPerThread, Math.ceil(widest / threads)),
    maxSliceMessages: options.maxSliceMessages,
    maxTaskMessages: Math.max(options.maxSliceMessages, MIN_TASK_MESSAGES),
    batchSize,
    backedUpBatchSize,
    pollTimeoutMs: options.pollTimeoutMs,
    maxInFlightPerPartition,
    maxInFlightBytes: options.backpressure.maxInFlightBytes,
    resumeRatio: options.backpressure.resumeRatio,
    revokeTimeoutMs: options.revokeTimeoutMs,
    offsetMapMaxBytes: options.offsetMapMaxBytes,
    fromBeginning: options.fromBeginning,
    kafka: options.kafka,
    // The engine's producer talks to the same cluster: it takes the consumer's connection and security settings under its own.
    producer: { ...connectionSettings(options.kafka), ...options.producer },
    exactlyOnce: options.exactlyOnce
      ? { transactionalId: options.transactionalId ?? `kvp-${options.groupId}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, intervalMs: options.transactionIntervalMs }
      : undefined,
  }
}

/** What exactly-once cannot be combined with; a ConfigError names the field. */
function checkExactlyOnce(routes: readonly ResolvedRoute[], kafka: Record<string, unknown>): void {
  for (const route of routes) {
    if (route.manualOffsets) {
      throw new ConfigError(
        `topics[${route.index}].manualOffsets`,
        'cannot be true with exactlyOnce: a transaction commits the messages its records came from, so every handled message counts as consumed',
      )
    }
    if (route.deadLetter?.kafka !== undefined) {
      throw new ConfigError(
        `topics[${route.index}].deadLetter.kafka`,
        "cannot be set with exactlyOnce: dead letters are written by the engine's transactional producer, inside the transaction (use the producer option)",
      )
    }
  }
  const isolation = kafka['isolation.level']
  if (isolation !== undefined && isolation !== 'read_committed') {
    throw new ConfigError('kafka.isolation.level', `must be 'read_committed' with exactlyOnce (got ${JSON.stringify(isolation)}): an engine that reads aborted records would process them`)
  }
}

/**
 * The settings of `kafka` that say how to reach and authenticate to the cluster: the
 * security protocol, SASL and TLS, the address family and DNS lookup. Every client kvp
 * makes for the cluster (the engine's producer, a route's dead-letter producer) starts from them.
 */
export function connectionSettings(kafka: Readonly<KafkaSettings>): KafkaSettings {
  const out: KafkaSettings = {}
  for (const [key, value] of Object.entries(kafka)) if (/^(security\.protocol|sasl\.|ssl\.|ssl_|enable\.ssl\.|client\.dns\.lookup|broker\.address\.family)/.test(key)) out[key] = value
  return out
}
