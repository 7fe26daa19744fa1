/**
 * After `engine.stop()` resolves, kvp holds nothing that keeps the event loop alive, in
 * every failure mode: each scenario runs in a child process that embeds startEngine(),
 * calls stop() and must then exit on its own. Each runs several times, because what
 * leaks depends on timing (a thread being replaced while the pool closes).
 */
import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import { useBroker } from '../helpers/broker.js'
import { uniqueName } from '../helpers/kafka.js'
import { tempFile } from '../helpers/paths.js'
import { produceMessages } from '../helpers/produce.js'

const cluster = useBroker()
const child = fileURLToPath(new URL('../fixtures/stop-child.js', import.meta.url))
const RUNS = 3
/** How long a process may take to exit once stop() resolved. */
const EXIT_WITHIN_MS = 5000

interface Outcome {
  stoppedAt: number | undefined
  exitedAt: number
  code: number | string
  output: string
}

async function runChild(mode: string): Promise<Outcome> {
  const topic = uniqueName('stop')
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 300, keys: 50, size: 40, partition: 0 })
  const proc = spawn(process.execPath, [child, mode, cluster.bootstrapServers, topic, tempFile('handled.tsv')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let stoppedAt: number | undefined
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
    if (stoppedAt === undefined && output.includes('KVP_STOPPED')) stoppedAt = Date.now()
  }
  proc.stdout.on('data', onData)
  proc.stderr.on('data', onData)
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const killer = setInterval(() => {
    // Still alive well after stop() resolved (or stop() never resolved): it is stuck.
    if ((stoppedAt !== undefined && Date.now() - stoppedAt > EXIT_WITHIN_MS + 2000) || output.length > 1_000_000) proc.kill('SIGKILL')
  }, 200)
  const overall = setTimeout(() => proc.kill('SIGKILL'), 90_000)
  try {
    const code = await exited
    return { stoppedAt, exitedAt: Date.now(), code, output }
  } finally {
    clearInterval(killer)
    clearTimeout(overall)
  }
}

describe('stop() releases every handle', { timeout: 600_000 }, () => {
  const modes: Array<[string, string]> = [
    ['watchdog', 'after a thread was killed by the timeout watchdog'],
    ['exit', 'after a handler called process.exit() in its worker'],
    ['never-settles', 'with a handler that never settles'],
    ['dead-letter-unreachable', 'with a dead-letter producer that cannot connect'],
    ['rebalance', 'when stopped during a rebalance'],
  ]
  for (const [mode, when] of modes) {
    test(`a process that embeds kvp exits on its own once stop() resolves, ${when} (${RUNS} runs)`, { timeout: 300_000 }, async () => {
      for (let run = 1; run <= RUNS; run++) {
        const outcome = await runChild(mode)
        const context = `run ${run}, exit ${outcome.code}:\n${outcome.output.slice(-3000)}`
        assert.ok(outcome.stoppedAt !== undefined, `stop() resolved (${context})`)
        assert.equal(outcome.code, 0, `the process exited by itself with code 0 (${context})`)
        assert.ok(outcome.exitedAt - outcome.stoppedAt <= EXIT_WITHIN_MS, `exited within ${EXIT_WITHIN_MS} ms of stop() (${context})`)
        assert.doesNotMatch(outcome.output, /KVP_STILL_ALIVE/, context)
      }
    })
  }
})
