/**
 * `kvp run`: start the engine from flags (and an optional JSON config file), report
 * readiness, log stats periodically, and on SIGTERM/SIGINT stop it cleanly (drain,
 * commit, close) and exit 0.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Option, type Command } from 'commander'
import { pino } from 'pino'
import { logEngineEvents } from '../logging.js'
import type { EngineOptions } from '../config/options.js'
import type { CliContext } from './context.js'
import { secrets } from '../config/redaction.js'
import {
  DISTRIBUTIONS,
  flagParser,
  kafkaSettingFlag,
  lanesFlag,
  mergeRunOptions,
  parseNonNegativeInt,
  parsePartitioner,
  parsePositiveInt,
  PAYLOADS,
  settingsWithEnv,
  usageError,
  type RunFlags,
} from './parse.js'

const DEFAULT_STATS_INTERVAL_MS = 10_000

/** Commander's parsed `kvp run` options (attribute names from the flag names). */
interface RunCommandOptions extends Omit<RunFlags, 'virtualPartitions' | 'kafka'> {
  /** The deprecated former name of --lanes. */
  maxPartitions?: number
  virtualPartitions: boolean
  kafkaSetting?: RunFlags['kafka']
  config?: string
  statsIntervalMs: number
  metricsPort?: number
  httpPort?: number
  httpHost: string
}

export function addRunCommand(program: Command, context: CliContext): Command {
  const command = program
    .command('run')
    .summary('consume topics with virtual partitions until SIGTERM/SIGINT')
    .description(
      'Consume topics with virtual partitions until SIGTERM/SIGINT, then drain, commit and exit 0. ' +
        'Flags override --config; with --topic the flags build one route, without it the route flags ' +
        'apply to every route of the config file.',
    )
    .option('--brokers <list|mock>', "bootstrap servers 'host:port,...', or 'mock' for an embedded cluster (default: mock)")
    .option('--group <id>', 'consumer group id')
    .option('--topic <name>', 'topic to consume')
    .option('--handler <module>', 'handler module (path relative to the current folder, or a URL)')
    .option('--lanes <n>', 'lanes (virtual partitions) per Kafka partition', flagParser('--lanes', parsePositiveInt))
    .option('--max-partitions <n>', 'deprecated: the former name of --lanes', flagParser('--max-partitions', parsePositiveInt))
    .addOption(new Option('--distribution <kind>', 'how keys map to lanes').choices(DISTRIBUTIONS))
    .option('--partitioner <how>', 'virtual key: key | header:NAME | json:path.to.field', flagParser('--partitioner', parsePartitioner))
    .addOption(new Option('--no-virtual-partitions', 'one lane per Kafka partition (plain Kafka semantics)').conflicts(['lanes', 'maxPartitions', 'distribution', 'partitioner']))
    .option('--threads <n>', 'worker threads', flagParser('--threads', parsePositiveInt))
    .option('--concurrency-per-thread <n>', 'slices one worker runs at once', flagParser('--concurrency-per-thread', parsePositiveInt))
    .option('--max-in-flight-per-partition <n>', 'pause a partition above this many fetched, unfinished messages', flagParser('--max-in-flight-per-partition', parsePositiveInt))
    .option('--handler-timeout-ms <ms>', 'abort a handler call after this long', flagParser('--handler-timeout-ms', parsePositiveInt))
    .option('--max-attempts <n>', 'attempts per message, the first included', flagParser('--max-attempts', parsePositiveInt))
    .option('--dead-letter-topic <topic>', 'where messages go once their attempts are spent')
    .option('--exactly-once', 'commit produced records and consumed offsets together in Kafka transactions')
    .option(
      '--offset-map-max-bytes <n>',
      "most bytes of done-above-the-commit offsets each commit carries (the broker's offset.metadata.max.bytes; 0: none) (default 4096)",
      flagParser('--offset-map-max-bytes', parseNonNegativeInt),
    )
    .option('--transaction-interval-ms <ms>', 'with --exactly-once: how long a transaction stays open (default 500)', flagParser('--transaction-interval-ms', parsePositiveInt))
    .option('--transactional-id <id>', "with --exactly-once: the producer's transactional.id; a stable one per instance fences a predecessor's open transaction on restart")
    .addOption(new Option('--payload <format>', 'how the worker decodes message.value into message.payload').choices(PAYLOADS))
    .option('-X, --kafka-setting <key=value>', 'librdkafka setting, repeatable (e.g. -X session.timeout.ms=6000)', kafkaSettingFlag)
    .option('--config <file>', 'JSON file shaped like the options of startEngine()')
    .addOption(
      new Option('--http-port <port>', 'serve the status page (/), /status, /healthz, /readyz and /metrics on this port (off unless given)')
        // KVP_HTTP_PORT (the Docker image sets 9464); an empty value turns the server off.
        .argParser((text: string) => (text === '' ? undefined : flagParser('--http-port', parseNonNegativeInt)(text)))
        .env('KVP_HTTP_PORT'),
    )
    .addOption(new Option('--http-host <host>', 'address the --http-port server binds').default('127.0.0.1').env('KVP_HTTP_HOST'))
    .option('--metrics-port <port>', 'the same as --http-port (kept for existing scripts)', flagParser('--metrics-port', parseNonNegativeInt))
    .option('--stats-interval-ms <ms>', 'log engine stats to stderr this often; 0 turns it off', flagParser('--stats-interval-ms', parseNonNegativeInt), DEFAULT_STATS_INTERVAL_MS)
    .action(async (options: RunCommandOptions, self: Command) => {
      context.exitCode = await runCommand(options, self, context)
    })
  return command
}

async function runCommand(options: RunCommandOptions, command: Command, context: CliContext): Promise<number> {
  const flags = toRunFlags(options, command)
  // One server: --metrics-port is another name for --http-port.
  if (options.httpPort !== undefined && options.metricsPort !== undefined && options.httpPort !== options.metricsPort) {
    throw usageError('--metrics-port', `is another name for --http-port (one server serves /metrics and the probes); got --http-port ${options.httpPort} and --metrics-port ${options.metricsPort}`)
  }
  const httpPort = options.httpPort ?? options.metricsPort
  let file: Partial<EngineOptions> = {}
  let configDir: string | undefined
  if (options.config !== undefined) {
    const path = resolve(context.cwd, options.config)
    file = readConfigFile(path)
    configDir = dirname(path)
  }
  const kafka = settingsWithEnv(context.env, flags.kafka, 'all')
  if (kafka !== undefined) flags.kafka = kafka
  secrets.addSettings(file.kafka)
  secrets.addSettings(file.producer)
  const engineOptions = mergeRunOptions(flags, file, configDir === undefined ? { cwd: context.cwd } : { cwd: context.cwd, configDir })
  if (flags.handler !== undefined) checkHandlerExists(engineOptions.topics[0]?.handler, flags.handler)

  // Listen for signals before starting, so a signal during startup still stops cleanly.
  const stopRequested = context.waitForStop()
  // Loaded here, not at the top: the other commands and --help need none of the engine.
  const { startEngine } = await import('../index.js')
  const engine = await startEngine(engineOptions)
  const topics = engineOptions.topics.map((route) => route.topic).join(',')
  context.stderr.write(`kvp: running group=${engineOptions.groupId} topics=${topics} brokers=${engine.bootstrapServers}\n`)
  context.stdout.write(`KVP_READY bootstrap=${engine.bootstrapServers}\n`)

  const logger = pino({ name: 'kvp', base: { pid: process.pid } }, context.stderr)
  const stopLogging = logEngineEvents(logger)
  let operations: { close(): Promise<void> } | undefined
  if (httpPort !== undefined) {
    const { serveOperations } = await import('../ops/http-server.js')
    const served = await serveOperations(engine, { port: httpPort, host: options.httpHost, group: engineOptions.groupId })
    operations = served
    context.stderr.write(`kvp: operations on http://${served.host}:${served.port}/ (status page, /status, /healthz, /readyz, /metrics)\n`)
  }

  let timer: NodeJS.Timeout | undefined
  if (options.statsIntervalMs > 0) {
    let lastHandled = 0
    let lastAt = performance.now()
    timer = setInterval(() => {
      try {
        const stats = engine.stats()
        const now = performance.now()
        const handledPerSec = Math.round(((stats.totals.handled - lastHandled) * 1000) / (now - lastAt))
        lastHandled = stats.totals.handled
        lastAt = now
        const { rss, heapUsed, heapTotal, external } = process.memoryUsage()
        logger.info({ handledPerSec, memory: { rss, heapUsed, heapTotal, external }, ...stats }, 'stats')
      } catch (err) {
        logger.warn({ err }, 'could not read engine stats')
      }
    }, options.statsIntervalMs)
    timer.unref()
  }

  // The engine stops by itself on a fault it cannot get past (a codec the build lacks): exit 1 with its message.
  const signal = await Promise.race([stopRequested, engine.stopped.then(() => 'failed' as const)])
  clearInterval(timer)
  if (signal === 'failed') {
    await engine.stop()
    stopLogging()
    await operations?.close()
    const failure = engine.failure
    context.stderr.write(`kvp: fatal: ${failure?.message ?? 'the engine stopped'}${failure ? ` (${failure.code})` : ''}
`)
    return 1
  }
  context.stderr.write(`kvp: ${signal === 'abort' ? 'stop requested' : signal}: draining in-flight messages and committing (a second signal exits at once)\n`)
  await engine.stop()
  stopLogging()
  await operations?.close()
  context.stderr.write('kvp: stopped\n')
  return 0
}

/** Commander's option bag → only the flags the user gave. */
function toRunFlags(options: RunCommandOptions, command: Command): RunFlags {
  const flags: RunFlags = {}
  const copy = <K extends keyof RunFlags & keyof RunCommandOptions>(key: K): void => {
    const value = options[key]
    if (value !== undefined) (flags as Record<string, unknown>)[key] = value
  }
  copy('brokers')
  copy('group')
  copy('topic')
  copy('handler')
  const lanes = lanesFlag(options.lanes, options.maxPartitions)
  if (lanes !== undefined) flags.lanes = lanes
  copy('distribution')
  copy('partitioner')
  copy('threads')
  copy('concurrencyPerThread')
  copy('maxInFlightPerPartition')
  copy('handlerTimeoutMs')
  copy('maxAttempts')
  copy('deadLetterTopic')
  copy('payload')
  copy('exactlyOnce')
  copy('transactionIntervalMs')
  copy('offsetMapMaxBytes')
  copy('transactionalId')
  if (options.kafkaSetting !== undefined) flags.kafka = options.kafkaSetting
  if (command.getOptionValueSource('virtualPartitions') === 'cli' && options.virtualPartitions === false) {
    flags.virtualPartitions = false
  }
  return flags
}

function readConfigFile(path: string): Partial<EngineOptions> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw usageError('--config', `cannot read ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw usageError('--config', `${path} is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError('--config', `${path} must hold a JSON object shaped like the options of startEngine()`)
  }
  // `$schema` names the file's JSON Schema for editors (kvp.schema.json); it is not an option.
  const { $schema: _schema, ...options } = parsed as Record<string, unknown>
  return options as Partial<EngineOptions>
}

function checkHandlerExists(url: string | undefined, given: string): void {
  if (url === undefined || !url.startsWith('file:')) return
  const path = fileURLToPath(url)
  if (!existsSync(path)) throw usageError('--handler', `no module at ${path} (given '${given}')`)
}
