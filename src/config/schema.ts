/**
 * The options of `startEngine()`, as one zod schema. It is the single source of:
 * the option types (./options.ts), validation with the field path of each mistake,
 * defaults (the constants below), the CLI's choices (`DISTRIBUTIONS`, `PAYLOADS`) and
 * `kvp.schema.json`, the JSON Schema editors use for config files (./json-schema.ts).
 * Rules that span fields (a dead-letter topic that differs from its topic, topics named
 * once, ...) are refinements here too; defaults computed from the machine or from other
 * fields (threads, concurrency, attempts) are filled in by ./resolve.ts, from
 * `COMPUTED_DEFAULTS`.
 */
import { z } from 'zod'
import type { PartitionerFn } from './partitioner-fn.js'

/** The broker's default `offset.metadata.max.bytes`: the most metadata one committed offset may carry. */
export const DEFAULT_OFFSET_MAP_MAX_BYTES = 4096

/** The most lanes one Kafka partition may be split into. */
export const MAX_LANES = 4096

/** Lanes per Kafka partition when a route does not say. */
export const DEFAULT_LANES = 64

/** A route's first retry backoff when it does not say; doubled per attempt. */
export const DEFAULT_BACKOFF_MS = 100

/** Fetched-but-not-done payload bytes above which every partition pauses. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024

/** Paused partitions resume once below this fraction of the limits. */
export const DEFAULT_RESUME_RATIO = 0.5

/** The most brokers librdkafka's embedded cluster may run (mockBrokers, `kvp mock-cluster --brokers`). */
export const MAX_MOCK_BROKERS = 16

/** The numbers of the defaults ./resolve.ts computes from the machine or from other fields. */
export const COMPUTED_DEFAULTS = {
  /** Worker threads: the available parallelism, at least this many. */
  minThreads: 2,
  /** Slices one worker thread runs at once: enough for every lane of a partition, at least this many. */
  concurrencyPerThread: 32,
  /** Messages asked per poll, per lane of the widest route, and the bounds of that default. */
  batchPerLane: 16,
  minBatchSize: 1000,
  maxBatchSize: 4000,
  /** Per-partition in-flight limit: this many polls, this many per lane, and at least minInFlightPerPartition. */
  inFlightBatches: 5,
  inFlightPerLane: 80,
  minInFlightPerPartition: 5000,
  /** The backoff cap (or backoffMs, if larger). */
  maxBackoffMs: 30_000,
  /** Attempts per message with a dead-letter topic (without one: unbounded). */
  maxAttemptsWithDeadLetter: 10,
} as const

/** A value as an error message shows it: strings quoted, objects by their keys. */
export function show(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  const keys = Object.keys(value)
  return keys.length === 0 ? 'an empty object' : `an object with ${keys.map((key) => JSON.stringify(key)).join(', ')}`
}

type Issue = { code: string; input?: unknown; keys?: string[] }

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const error = { error: (issue: Issue) => `expected an integer from ${min} to ${max}, got ${show(issue.input)}` }
  return z.number(error).int(error).min(min, error).max(max, error)
}

const nonEmptyString = z
  .string({ error: (issue: Issue) => `expected a non-empty string, got ${show(issue.input)}` })
  .refine((value) => value.trim() !== '', { error: (issue: Issue) => `expected a non-empty string, got ${show(issue.input)}` })

const boolean = z.boolean({ error: (issue: Issue) => `expected a boolean, got ${show(issue.input)}` })

/** A closed object: a missing object is `expected <what>`, an unknown key is named with the keys allowed. */
function object<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const allowed = Object.keys(shape).join(', ')
  return z.strictObject(shape, {
    error: (issue: Issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown option (expected one of: ${allowed})`
      if (issue.code === 'invalid_type') return `expected ${what}`
      return undefined
    },
  })
}

const settingValue = z.union([z.string(), z.number(), z.boolean()], { error: (issue: Issue) => `expected a string, number or boolean, got ${typeof issue.input}` })

/** librdkafka settings, passed through as they are. */
function kafkaSettings(what: string) {
  return z.record(z.string(), settingValue, { error: () => `expected an object of ${what}` })
}

/** `a.b.c`: segments separated by dots, none empty. */
const dottedPath = z
  .string({ error: (issue: Issue) => `expected a dotted path such as 'order.id', got ${show(issue.input)}` })
  .regex(/^[^.]+(\.[^.]+)*$/, { error: (issue: Issue) => `expected a dotted path such as 'order.id' with no empty segments, got ${show(issue.input)}` })

/** Marks a schema that only JavaScript can satisfy: the JSON Schema of a file says no value matches it. */
export const JS_ONLY = 'kvp:js-only'

const partitionerFn = z.custom<PartitionerFn>((value) => typeof value === 'function').meta({ [JS_ONLY]: true })

export const partitionerSchema = z
  .union(
    [
      z.literal('key'),
      z.strictObject({
        header: z
          .string({ error: (issue: Issue) => `expected a non-empty header name, got ${show(issue.input)}` })
          .min(1, { error: (issue: Issue) => `expected a non-empty header name, got ${show(issue.input)}` }),
      }),
      z.strictObject({ json: dottedPath }),
      z.strictObject({ protobuf: dottedPath }),
      partitionerFn,
    ],
    { error: (issue: Issue) => `expected 'key', { header: 'name' }, { json: 'a.b' }, { protobuf: 'field' } or a function, got ${show(issue.input)}` },
  )
  .describe("How a message's virtual key is found: 'key' (the Kafka message key), { header }, { json: 'dotted.path' }, { protobuf: 'dotted.path' }, or a function (startEngine only).")

/** How keys map to lanes when a route does not say (./resolve.ts too). */
export const DEFAULT_DISTRIBUTION = 'sticky'

export const distributionSchema = z
  .enum(['consistent', 'balanced', 'sticky'], { error: (issue: Issue) => `expected 'consistent', 'balanced' or 'sticky', got ${show(issue.input)}` })
  .describe(
    "How keys map to lanes: 'consistent' (a key keeps its lane: hash mod lanes), 'balanced' (each batch's keys spread evenly over the lanes, a barrier between batches) or 'sticky' (a key keeps its lane while it has messages there; a key with none goes to the least loaded lane).",
  )

export const payloadSchema = z
  .union([z.enum(['raw', 'json']), z.strictObject({ protobuf: z.string().min(1), type: z.string().min(1) })], {
    error: (issue: Issue) => `expected 'raw', 'json' or { protobuf: 'file.proto', type: 'pkg.Message' }, got ${show(issue.input)}`,
  })
  .describe("How the worker decodes message.value into message.payload: 'raw' (default), 'json', or { protobuf: 'file.proto', type: 'pkg.Message' }. A tombstone (null value) has payload null.")

const lanesSchema = integer(1, MAX_LANES)

const virtualPartitionsSchema = object(
  {
    partitioner: partitionerSchema.default('key'),
    // Optional rather than defaulted, so that ./resolve.ts can tell it from the deprecated maxPartitions; the default is DEFAULT_LANES.
    lanes: lanesSchema.optional().meta({ default: DEFAULT_LANES }).describe('Lanes (virtual partitions) per Kafka partition: exactly this many.'),
    maxPartitions: lanesSchema.optional().meta({ deprecated: true }).describe('Deprecated: the former name of lanes (the same number); give lanes instead.'),
    distribution: distributionSchema.default(DEFAULT_DISTRIBUTION),
  },
  'false or { partitioner, lanes, distribution }',
).superRefine((vp, ctx) => {
  if (vp.lanes !== undefined && vp.maxPartitions !== undefined && vp.lanes !== vp.maxPartitions) {
    ctx.addIssue({ code: 'custom', path: ['maxPartitions'], message: `is the deprecated name of lanes, and differs from it (lanes ${vp.lanes}, maxPartitions ${vp.maxPartitions}): give only lanes` })
  }
})

/** JSON has no Infinity: a file leaves maxAttempts out for no bound. */
const maxAttemptsSchema = z.union([integer(1), z.literal(Infinity).meta({ [JS_ONLY]: true })], { error: (issue: Issue) => `expected an integer of 1 or more, or Infinity, got ${show(issue.input)}` })

const retrySchema = object(
  {
    maxAttempts: maxAttemptsSchema.optional().describe(`Attempts per message including the first. Default ${COMPUTED_DEFAULTS.maxAttemptsWithDeadLetter} with a dead-letter topic, unbounded without.`),
    backoffMs: integer(0).default(DEFAULT_BACKOFF_MS).describe('First backoff, doubled per attempt with jitter.'),
    maxBackoffMs: integer(0).optional().describe(`Backoff cap. Default ${COMPUTED_DEFAULTS.maxBackoffMs} (or backoffMs, if larger).`),
  },
  '{ maxAttempts, backoffMs, maxBackoffMs }',
).refine((retry) => retry.maxBackoffMs === undefined || retry.maxBackoffMs >= retry.backoffMs, {
  path: ['maxBackoffMs'],
  error: (issue: Issue) => `must be at least backoffMs (${show((issue.input as { backoffMs?: unknown } | undefined)?.backoffMs)})`,
})

const deadLetterSchema = object(
  {
    topic: nonEmptyString.describe('Where messages go after their last failed attempt.'),
    kafka: kafkaSettings('librdkafka producer settings').optional().describe('librdkafka settings for the dead-letter producer (acks, compression.type, ...).'),
  },
  '{ topic: name }',
)

export const topicRouteSchema = object(
  {
    topic: nonEmptyString.describe('The Kafka topic.'),
    handler: nonEmptyString.describe('Path (relative to the config file, or the working directory for startEngine) or URL of the handler module: its default export, or a named handle export.'),
    virtualPartitions: z
      .union([z.literal(false), virtualPartitionsSchema], {
        error: (issue: Issue) => (typeof issue.input === 'object' && issue.input !== null ? undefined : `expected false or { partitioner, lanes, distribution }, got ${show(issue.input)}`),
      })
      .optional()
      .describe(`false: one lane per Kafka partition (plain Kafka semantics). Default: split by key into ${DEFAULT_LANES} lanes.`),
    retry: retrySchema.optional(),
    deadLetter: deadLetterSchema.optional(),
    handlerTimeoutMs: integer(1).optional().describe('A handler call running longer than this is aborted and fails with KVP_TIMEOUT.'),
    payload: payloadSchema.default('raw'),
    manualOffsets: boolean.default(false).describe('The handler marks progress with ctx.markAsConsumed(); unmarked messages hold the watermark.'),
  },
  'an object { topic, handler, ... }',
).superRefine((route, ctx) => {
  if (route.deadLetter !== undefined && route.deadLetter.topic === route.topic) {
    ctx.addIssue({ code: 'custom', path: ['deadLetter', 'topic'], message: 'must differ from the topic it serves' })
  }
  const partitioner = route.virtualPartitions === false ? undefined : route.virtualPartitions?.partitioner
  if (typeof partitioner === 'object' && 'protobuf' in partitioner && typeof route.payload !== 'object') {
    ctx.addIssue({ code: 'custom', path: ['virtualPartitions', 'partitioner'], message: "{ protobuf: field } needs payload: { protobuf: 'file.proto', type: 'pkg.Message' } on the route" })
  }
})

const backpressureSchema = object(
  {
    maxInFlightPerPartition: integer(1)
      .optional()
      .describe(
        `Pause a partition when this many of its fetched messages are not yet done. Default: the largest of ${COMPUTED_DEFAULTS.inFlightBatches} polls (batchSize), ${COMPUTED_DEFAULTS.inFlightPerLane} per lane, and ${COMPUTED_DEFAULTS.minInFlightPerPartition}.`,
      ),
    maxInFlightBytes: integer(1024).default(DEFAULT_MAX_IN_FLIGHT_BYTES).describe('Pause every partition when fetched-but-not-done payload bytes exceed this.'),
    resumeRatio: z
      .number({ error: (issue: Issue) => `expected a number between 0 and 1, got ${show(issue.input)}` })
      .gt(0, { error: (issue: Issue) => `expected a number between 0 and 1, got ${show(issue.input)}` })
      .lt(1, { error: (issue: Issue) => `expected a number between 0 and 1, got ${show(issue.input)}` })
      .default(DEFAULT_RESUME_RATIO)
      .describe('Resume once below this fraction of the limits.'),
  },
  'an object { maxInFlightPerPartition, maxInFlightBytes, resumeRatio }',
)

export const engineOptionsSchema = object(
  {
    brokers: nonEmptyString.default('mock').describe("'host:port,...', or 'mock' for an embedded cluster."),
    groupId: nonEmptyString.describe('The consumer group.'),
    topics: z
      .array(topicRouteSchema, { error: () => 'expected a non-empty array of { topic, handler, ... }' })
      .min(1, { error: 'expected a non-empty array of { topic, handler, ... }' })
      .superRefine((routes, ctx) => {
        const seen = new Set<string>()
        routes.forEach((route, index) => {
          if (seen.has(route.topic)) ctx.addIssue({ code: 'custom', path: [index, 'topic'], message: `topic '${route.topic}' appears twice` })
          seen.add(route.topic)
        })
      }),
    threads: integer(1, 1024).optional().describe(`Worker threads. Default: available parallelism, at least ${COMPUTED_DEFAULTS.minThreads}.`),
    concurrencyPerThread: integer(1, 10_000)
      .optional()
      .describe(`Slices one worker thread runs at once. Default: enough for every lane of a partition (at least ${COMPUTED_DEFAULTS.concurrencyPerThread}).`),
    maxSliceMessages: integer(1, 100_000).default(512).describe('Most messages in one slice sent to a worker.'),
    batchSize: integer(1, 100_000)
      .optional()
      .describe(
        `Messages asked of librdkafka per poll. Default: ${COMPUTED_DEFAULTS.batchPerLane} per lane of the widest route, from ${COMPUTED_DEFAULTS.minBatchSize} to ${COMPUTED_DEFAULTS.maxBatchSize}, and ${COMPUTED_DEFAULTS.minBatchSize} while that many messages wait in lanes for a worker.`,
      ),
    pollTimeoutMs: integer(0, 60_000).default(10).describe('How long one poll waits for messages when the local queue is empty.'),
    backpressure: backpressureSchema.default({ maxInFlightBytes: DEFAULT_MAX_IN_FLIGHT_BYTES, resumeRatio: DEFAULT_RESUME_RATIO }),
    revokeTimeoutMs: integer(0).default(10_000).describe('How long a revoke waits for in-flight slices before committing and letting go.'),
    offsetMapMaxBytes: integer(0, 1_048_576)
      .default(DEFAULT_OFFSET_MAP_MAX_BYTES)
      .describe(
        "Each commit carries the offsets done above the committed one (its offset map) in the commit's metadata, at most this many bytes: the broker's offset.metadata.max.bytes (4096 unless changed). A crash or a handoff then replays only what was not done. Past the limit the longest prefix that fits is kept. 0: no map (everything above the committed offset runs again).",
      ),
    fromBeginning: boolean.default(true).describe('Start at the earliest offset when the group has no committed offset.'),
    kafka: kafkaSettings('librdkafka settings').default({}).describe("librdkafka consumer settings passed through ('session.timeout.ms': 6000, ...)."),
    producer: kafkaSettings('librdkafka producer settings')
      .default({})
      .describe(
        "librdkafka settings of the engine's producer, which sends what handlers produce with ctx.produce() and the dead letters ('linger.ms': 5, 'compression.type': 'lz4', ...). Idempotence is always on.",
      ),
    exactlyOnce: boolean
      .default(false)
      .describe(
        "Exactly-once output: what handlers produce and the consumed offsets are committed together in Kafka transactions, closed every transactionIntervalMs; readers with isolation.level=read_committed see each input's outputs once.",
      ),
    transactionIntervalMs: integer(10, 600_000).default(500).describe('Exactly-once: how long a transaction stays open. Shorter: outputs are visible sooner; longer: fewer commits.'),
    transactionalId: nonEmptyString
      .optional()
      .describe("Exactly-once: the producer's transactional.id. Give each instance a stable one (a pod name) so a restart fences what its predecessor left open. Default: unique per process."),
    mockBrokers: integer(1, MAX_MOCK_BROKERS).default(1).describe("Brokers in the embedded cluster when brokers is 'mock'."),
  },
  'an object',
)

/** A route after the schema: static defaults filled in. */
export type ParsedRoute = z.output<typeof topicRouteSchema>

/** The CLI's choices, from the schema. */
export const DISTRIBUTIONS = distributionSchema.options
export const PAYLOADS = (payloadSchema.options[0] as z.ZodEnum<{ raw: 'raw'; json: 'json' }>).options

/** `['topics', 0, 'retry']` → `topics[0].retry`. */
function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

/**
 * The first issue of a failed parse, as the field it names and the message for it. A
 * value that fits no alternative of a union is reported at the union, unless exactly one
 * alternative got past the value itself (its object matched, a field inside did not):
 * then that field is the mistake, and is named.
 */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  let issue = error.issues[0] as z.core.$ZodIssue
  let prefix: PropertyKey[] = []
  while (issue.code === 'invalid_union') {
    const inside = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0 && i.code !== 'unrecognized_keys'))
    if (inside.length !== 1) break
    prefix = [...prefix, ...issue.path]
    issue = (inside[0] as z.core.$ZodIssue[])[0] as z.core.$ZodIssue
  }
  let path = [...prefix, ...issue.path]
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) path = [...path, issue.keys[0] as string]
  return { field: fieldPath(path) || 'options', message: issue.message }
}
