/** Flags of `npm run bench`. */
import { parseArgs } from 'node:util'
import { Scenarios, type Scenario } from '../handlers/work.js'

/**
 * Where the benchmark's Kafka comes from: librdkafka's embedded cluster (`mock`), an
 * Apache Kafka broker the benchmark starts and stops itself (`kafka`), or a cluster that
 * is already running (`external`, its bootstrap addresses).
 */
export type BrokerChoice = { kind: 'mock' } | { kind: 'kafka' } | { kind: 'external'; address: string }

export interface BenchArgs {
  quick: boolean
  scenarios: Scenario[]
  threads: number
  /** Thread counts for kvp's `cpu` scaling sweep (64 lanes); empty: no sweep. */
  threadSweep: number[]
  brokers: BrokerChoice
  /** Partition counts of the topics (a real broker only); null: the plan's default. */
  partitions: number[] | null
  /** Also run the JVM peers (Confluent Parallel Consumer) against the same broker. */
  peers: boolean
  /**
   * Runs per cell on a real broker, the median kept and the spread reported (`--repeats`);
   * default 3 for a full run, 1 for `--quick`. The embedded cluster repeats short runs anyway.
   */
  repeats: number
}

export const USAGE =
  'usage: npm run bench -- [--quick] [--brokers mock|kafka|host:port[,host:port]] [--partitions 1,8] ' + '[--peers] [--repeats N] [--scenario io|cpu|noop]... [--threads N] [--thread-sweep 1,2,4,8,12]'

/** A flag that cannot be used; `npm run bench` prints it with the usage and exits 2. */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError'
}

const ADDRESS = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/

/** `--brokers`: `mock`, `kafka`, or host:port[,host:port...]. */
export function parseBrokers(value: string): BrokerChoice {
  const text = value.trim()
  if (text === 'mock') return { kind: 'mock' }
  if (text === 'kafka') return { kind: 'kafka' }
  if (ADDRESS.test(text) && text.split(',').every((entry) => Number(entry.slice(entry.lastIndexOf(':') + 1)) <= 65535)) {
    return { kind: 'external', address: text }
  }
  throw new BenchUsageError(`--brokers: expected 'mock', 'kafka' or host:port[,host:port...], got '${value}'`)
}

/** The flags as values; throws a BenchUsageError naming the flag that is wrong. */
export function readBenchArgs(argv: string[]): BenchArgs & { help: boolean } {
  const parse = () =>
    parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        scenario: { type: 'string', multiple: true },
        threads: { type: 'string', default: '2' },
        'thread-sweep': { type: 'string', default: '' },
        brokers: { type: 'string', default: 'mock' },
        partitions: { type: 'string' },
        peers: { type: 'boolean', default: false },
        repeats: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  let values: ReturnType<typeof parse>
  try {
    values = parse()
  } catch (err) {
    throw new BenchUsageError(err instanceof Error ? err.message : String(err))
  }
  const scenarios = values.scenario ?? [...Scenarios]
  for (const scenario of scenarios) {
    if (!(Scenarios as readonly string[]).includes(scenario)) throw new BenchUsageError(`--scenario: expected one of ${Scenarios.join(', ')}, got ${scenario}`)
  }
  const threads = Number(values.threads)
  if (!Number.isInteger(threads) || threads < 1) throw new BenchUsageError(`--threads: expected a positive integer, got ${values.threads}`)
  const threadSweep = positiveIntegers('--thread-sweep', values['thread-sweep'])
  const brokers = parseBrokers(values.brokers)
  let partitions: number[] | null = null
  if (values.partitions !== undefined) {
    if (brokers.kind === 'mock') {
      throw new BenchUsageError('--partitions: needs a real broker (--brokers kafka or host:port); the embedded cluster runs on partition 0 of its topics')
    }
    partitions = [...new Set(positiveIntegers('--partitions', values.partitions))]
    if (partitions.length === 0) throw new BenchUsageError('--partitions: expected positive integers separated by commas, got nothing')
  }
  if (values.peers && brokers.kind === 'mock') {
    throw new BenchUsageError('--peers: needs a real broker (--brokers kafka or host:port): the Java client reaches the embedded cluster ' + 'but consumes nothing from it (not a record in 30 s)')
  }
  const repeats = values.repeats === undefined ? (values.quick ? 1 : 3) : Number(values.repeats)
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 9) throw new BenchUsageError(`--repeats: expected an integer 1..9, got ${values.repeats}`)
  if (values.repeats !== undefined && brokers.kind === 'mock') {
    throw new BenchUsageError('--repeats: needs a real broker; on the embedded cluster every run shorter than 1.5 s is repeated 3 times already')
  }
  return {
    quick: values.quick,
    repeats,
    scenarios: Scenarios.filter((s) => scenarios.includes(s)),
    threads,
    threadSweep,
    brokers,
    partitions,
    peers: values.peers,
    help: values.help,
  }
}

function positiveIntegers(flag: string, text: string): number[] {
  if (text === '') return []
  return text.split(',').map((entry) => {
    const n = Number(entry)
    if (!Number.isInteger(n) || n < 1) throw new BenchUsageError(`${flag}: expected positive integers separated by commas, got ${text}`)
    return n
  })
}

/** `readBenchArgs` for the command line: `--help` prints the usage, a bad flag exits 2 with it. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  try {
    const { help, ...args } = readBenchArgs(argv)
    if (help) {
      console.log(USAGE)
      process.exit(0)
    }
    return args
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err
    console.error(`${err.message}\n${USAGE}`)
    process.exit(2)
  }
}
