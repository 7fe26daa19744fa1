/** Flags of `npm run bench`. */
import { parseArgs } from 'node:util'
import { Scenarios, type Scenario } from '../handlers/work.js'

export interface BenchArgs {
  quick: boolean
  scenarios: Scenario[]
  threads: number
  /** Thread counts for kvp's `cpu` scaling sweep (64 lanes); empty: no sweep. */
  threadSweep: number[]
}

const USAGE = 'usage: npm run bench -- [--quick] [--scenario io|cpu|noop]... [--threads N] [--thread-sweep 1,2,4,8,12]'

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      threads: { type: 'string', default: '2' },
      'thread-sweep': { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const scenarios = values.scenario ?? [...Scenarios]
  for (const scenario of scenarios) {
    if (!(Scenarios as readonly string[]).includes(scenario)) usage(`--scenario: expected one of ${Scenarios.join(', ')}, got ${scenario}`)
  }
  const threads = Number(values.threads)
  if (!Number.isInteger(threads) || threads < 1) usage(`--threads: expected a positive integer, got ${values.threads}`)
  const threadSweep = values['thread-sweep'] === '' ? [] : values['thread-sweep'].split(',').map((text) => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 1) usage(`--thread-sweep: expected positive integers separated by commas, got ${values['thread-sweep']}`)
    return n
  })
  return { quick: values.quick, scenarios: Scenarios.filter((s) => scenarios.includes(s)), threads, threadSweep }
}

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`)
  process.exit(2)
}
