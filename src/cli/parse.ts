/**
 * Pure helpers for the command line: turning flag strings into option values, and
 * merging `kvp run` flags over a config file into `EngineOptions`. Nothing here touches
 * the file system or the process; every failure is a `KvpError` with code `KVP_USAGE`
 * whose `field` is the flag at fault, so the caller can exit 2 with a message naming it.
 */
import { kafkaSettingsFromEnv } from '../config/secrets.js'
import { isSecretSetting, secrets } from '../config/redaction.js'
import { InvalidArgumentError } from 'commander'
import type { Distribution, EngineOptions, KafkaSettings, KafkaSettingValue, PartitionerOption, PayloadOption, TopicRoute, VirtualPartitionsOptions } from '../config/options.js'
import { warnMaxPartitions } from '../config/deprecations.js'
import { handlerUrl } from '../config/resolve.js'
import { firstIssue, partitionerSchema } from '../config/schema.js'
import { KvpError, UsageError } from '../errors.js'

/** A usage error: `flag` is named in `field` and at the start of the message. */
export function usageError(flag: string, message: string, cause?: unknown): UsageError {
  return new UsageError(flag, message, cause)
}

/**
 * Adapts a helper to commander's argument parser: its usage error becomes commander's
 * "option '--threads <n>' argument 'abc' is invalid. expected an integer" (exit 2).
 */
export function flagParser<T>(flag: string, parse: (text: string, flag: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text, flag)
    } catch (err) {
      if (err instanceof KvpError && err.field === flag) {
        throw new InvalidArgumentError(err.message.slice(flag.length + 2))
      }
      throw err
    }
  }
}

const INTEGER = /^[+-]?\d+$/

/** A positive integer (1, 2, ...) written in decimal; anything else throws naming `flag`. */
export function parsePositiveInt(text: string, flag: string): number {
  const value = parseInteger(text, flag)
  if (value < 1) throw usageError(flag, `expected a positive integer, got '${text}'`)
  return value
}

/** A non-negative integer (0, 1, ...) written in decimal; anything else throws naming `flag`. */
export function parseNonNegativeInt(text: string, flag: string): number {
  const value = parseInteger(text, flag)
  if (value < 0) throw usageError(flag, `expected an integer of 0 or more, got '${text}'`)
  return value
}

function parseInteger(text: string, flag: string): number {
  const trimmed = text.trim()
  if (!INTEGER.test(trimmed)) throw usageError(flag, `expected an integer, got '${text}'`)
  const value = Number(trimmed)
  if (!Number.isSafeInteger(value)) throw usageError(flag, `'${text}' is too large`)
  return value
}

/**
 * A librdkafka setting value as typed after `-X key=`: `true`/`false` become booleans,
 * integer-looking strings numbers, everything else stays a string (librdkafka parses it).
 */
export function coerceKafkaValue(text: string): KafkaSettingValue {
  if (text === 'true') return true
  if (text === 'false') return false
  if (INTEGER.test(text)) {
    const value = Number(text)
    if (Number.isSafeInteger(value)) return value
  }
  return text
}

/** One `-X key=value` pair. The value may itself contain `=`; the key may not be empty. */
export function parseKafkaSetting(pair: string, flag = '-X'): [string, KafkaSettingValue] {
  const eq = pair.indexOf('=')
  if (eq <= 0) throw usageError(flag, `expected key=value (a librdkafka setting), got '${pair}'`)
  const key = pair.slice(0, eq).trim()
  if (key === '') throw usageError(flag, `expected key=value (a librdkafka setting), got '${pair}'`)
  return [key, coerceKafkaValue(pair.slice(eq + 1))]
}

/**
 * librdkafka settings from the environment (`KVP_KAFKA_*`, see ../config/secrets.ts) under
 * the `-X` flags: a flag wins over the environment, and both over a config file. `prefix`
 * picks the settings of one client: '' the consumer's (keys without `producer.`),
 * 'producer.' the producer's (those keys, prefix dropped, over the shared ones).
 */
export function settingsWithEnv(env: Readonly<Record<string, string | undefined>>, flags: KafkaSettings | undefined, client: 'consumer' | 'producer' | 'all'): KafkaSettings | undefined {
  const fromEnv = kafkaSettingsFromEnv(env)
  const merged: KafkaSettings = { ...fromEnv, ...flags }
  if (client === 'all') return Object.keys(merged).length > 0 ? merged : undefined
  const out: KafkaSettings = {}
  for (const [key, value] of Object.entries(merged)) if (!key.startsWith('producer.')) out[key] = value
  if (client === 'producer') for (const [key, value] of Object.entries(merged)) if (key.startsWith('producer.')) out[key.slice('producer.'.length)] = value
  return Object.keys(out).length > 0 ? out : undefined
}

/** Accumulates repeated `-X` flags into one settings object (a later key wins). */
export function collectKafkaSetting(pair: string, previous: KafkaSettings = {}): KafkaSettings {
  const [key, value] = parseKafkaSetting(pair)
  // A secret on the command line: ps shows it, but nothing kvp writes will (prefer KVP_KAFKA_*_FILE).
  if (isSecretSetting(key)) secrets.add(String(value))
  return { ...previous, [key]: value }
}

/** `collectKafkaSetting` as a repeatable commander option parser (`-X a=1 -X b=2`). */
export function kafkaSettingFlag(pair: string, previous?: KafkaSettings): KafkaSettings {
  try {
    return collectKafkaSetting(pair, previous)
  } catch (err) {
    if (err instanceof KvpError && err.field === '-X') throw new InvalidArgumentError(err.message.slice(4))
    throw err
  }
}

/**
 * `key` | `header:NAME` | `json:a.b` → the engine's partitioner option. Only the flag's
 * syntax is read here; what the option may hold is the options schema's to say.
 */
export function parsePartitioner(text: string, flag = '--partitioner'): Exclude<PartitionerOption, (...args: never[]) => unknown> {
  const colon = text.indexOf(':')
  const kind = colon < 0 ? text : text.slice(0, colon)
  const arg = colon < 0 ? '' : text.slice(colon + 1)
  let option: Exclude<PartitionerOption, (...args: never[]) => unknown>
  if (text === 'key') option = 'key'
  else if (kind === 'header') option = { header: arg }
  else if (kind === 'json') option = { json: arg }
  else throw usageError(flag, `expected key, header:NAME or json:path.to.field, got '${text}'`)
  const parsed = partitionerSchema.safeParse(option)
  if (!parsed.success) {
    const example = kind === 'header' ? 'header:tenant' : 'json:order.id'
    throw usageError(flag, `'${text}': ${firstIssue(parsed.error).message} (e.g. ${example})`)
  }
  return option
}

/**
 * The lanes given on the command line: `--lanes`, or `--max-partitions`, its deprecated
 * former name (which warns once, as the `maxPartitions` option does). Both, with different
 * numbers, is a usage error naming `--max-partitions`.
 */
export function lanesFlag(lanes: number | undefined, maxPartitions: number | undefined): number | undefined {
  if (maxPartitions === undefined) return lanes
  if (lanes !== undefined && lanes !== maxPartitions) {
    throw usageError('--max-partitions', `is the deprecated name of --lanes, and differs from it (--lanes ${lanes}, --max-partitions ${maxPartitions}): give only --lanes`)
  }
  warnMaxPartitions('--max-partitions', '--lanes')
  return maxPartitions
}

export { DISTRIBUTIONS, PAYLOADS } from '../config/schema.js'
export { isUrlLike } from '../config/resolve.js'

/**
 * A handler given as a path becomes an absolute `file:` URL resolved against `baseDir`;
 * a URL is passed through unchanged.
 */
export function resolveHandler(handler: string, baseDir: string): string {
  return handlerUrl(handler, baseDir)
}

/** `kvp run` flags after commander, before merging. Absent flags are absent keys. */
export interface RunFlags {
  brokers?: string
  group?: string
  topic?: string
  handler?: string
  /** `--lanes` (or its deprecated former name `--max-partitions`, see `lanesFlag`). */
  lanes?: number
  distribution?: Distribution
  /** Only present when `--no-virtual-partitions` was given (then `false`). */
  virtualPartitions?: false
  partitioner?: Exclude<PartitionerOption, (...args: never[]) => unknown>
  threads?: number
  concurrencyPerThread?: number
  maxInFlightPerPartition?: number
  handlerTimeoutMs?: number
  maxAttempts?: number
  deadLetterTopic?: string
  payload?: 'raw' | 'json'
  exactlyOnce?: boolean
  transactionIntervalMs?: number
  offsetMapMaxBytes?: number
  transactionalId?: string
  kafka?: KafkaSettings
}

export interface MergeContext {
  /** Where flag-given handler paths are resolved from. */
  cwd: string
  /** Where handler paths from the config file are resolved from (the file's folder). */
  configDir?: string
}

/**
 * Flags over the config file: engine-wide flags replace the file's values and `-X`
 * settings are merged over the file's `kafka`. With `--topic`, the result has exactly
 * one route: the file's route of that name (if any) with the route flags over it.
 * Without `--topic`, the route flags apply to every route of the file.
 */
export function mergeRunOptions(flags: RunFlags, file: Partial<EngineOptions>, context: MergeContext): EngineOptions {
  const groupId = flags.group ?? file.groupId
  if (groupId === undefined || groupId === '') {
    throw usageError('--group', 'a consumer group id is required (--group <id>, or groupId in --config)')
  }

  const fileRoutes = Array.isArray(file.topics) ? file.topics : []
  const configDir = context.configDir ?? context.cwd
  const fromFile = (route: TopicRoute): TopicRoute => (typeof route.handler === 'string' ? { ...route, handler: resolveHandler(route.handler, configDir) } : route)

  let routes: TopicRoute[]
  if (flags.topic !== undefined) {
    const base = fileRoutes.find((route) => route?.topic === flags.topic)
    routes = [applyRouteFlags(base === undefined ? { topic: flags.topic } : fromFile(base), flags, context.cwd, true)]
  } else {
    if (fileRoutes.length === 0) {
      throw usageError('--topic', 'a topic is required (--topic <name> --handler <module>, or topics in --config)')
    }
    routes = fileRoutes.map((route) => applyRouteFlags(fromFile(route), flags, context.cwd, false))
  }

  const options: EngineOptions = { ...file, groupId, topics: routes }
  if (flags.brokers !== undefined) options.brokers = flags.brokers
  if (flags.threads !== undefined) options.threads = flags.threads
  if (flags.concurrencyPerThread !== undefined) options.concurrencyPerThread = flags.concurrencyPerThread
  if (flags.exactlyOnce !== undefined) options.exactlyOnce = flags.exactlyOnce
  if (flags.transactionIntervalMs !== undefined) options.transactionIntervalMs = flags.transactionIntervalMs
  if (flags.offsetMapMaxBytes !== undefined) options.offsetMapMaxBytes = flags.offsetMapMaxBytes
  if (flags.transactionalId !== undefined) options.transactionalId = flags.transactionalId
  if (flags.maxInFlightPerPartition !== undefined) {
    options.backpressure = { ...file.backpressure, maxInFlightPerPartition: flags.maxInFlightPerPartition }
  }
  if (flags.kafka !== undefined) {
    // `-X producer.key=value` is a setting of the engine's producer; the rest are the consumer's.
    const consumer: KafkaSettings = {}
    const producer: KafkaSettings = {}
    for (const [key, value] of Object.entries(flags.kafka)) {
      if (key.startsWith('producer.')) producer[key.slice('producer.'.length)] = value
      else consumer[key] = value
    }
    if (Object.keys(consumer).length > 0) options.kafka = { ...file.kafka, ...consumer }
    if (Object.keys(producer).length > 0) options.producer = { ...file.producer, ...producer }
  }
  return options
}

/**
 * The route flags over one route. The route may come from the file, so it is rebuilt,
 * never mutated. Lane flags (`--lanes`, ...) turn splitting on for the route
 * named by `--topic`, but leave a file route that says `virtualPartitions: false` alone
 * when they apply to every route.
 */
function applyRouteFlags(route: Partial<TopicRoute> & { topic: string }, flags: RunFlags, cwd: string, named: boolean): TopicRoute {
  const handler = flags.handler !== undefined ? resolveHandler(flags.handler, cwd) : route.handler
  if (handler === undefined || handler === '') {
    throw usageError('--handler', `topic '${route.topic}' needs a handler module (--handler <module>, or handler in --config)`)
  }
  const out: TopicRoute = { ...route, handler }

  if (flags.virtualPartitions === false) {
    out.virtualPartitions = false
  } else if ((flags.lanes !== undefined || flags.distribution !== undefined || flags.partitioner !== undefined) && (named || route.virtualPartitions !== false)) {
    const vp: VirtualPartitionsOptions = route.virtualPartitions ? { ...route.virtualPartitions } : {}
    if (flags.lanes !== undefined) {
      vp.lanes = flags.lanes
      // The flag wins over the file, whichever name the file gave the number.
      delete vp.maxPartitions
    }
    if (flags.distribution !== undefined) vp.distribution = flags.distribution
    if (flags.partitioner !== undefined) vp.partitioner = flags.partitioner
    out.virtualPartitions = vp
  }
  if (flags.handlerTimeoutMs !== undefined) out.handlerTimeoutMs = flags.handlerTimeoutMs
  if (flags.maxAttempts !== undefined) out.retry = { ...route.retry, maxAttempts: flags.maxAttempts }
  if (flags.deadLetterTopic !== undefined) out.deadLetter = { ...route.deadLetter, topic: flags.deadLetterTopic }
  if (flags.payload !== undefined) out.payload = flags.payload satisfies PayloadOption
  return out
}
