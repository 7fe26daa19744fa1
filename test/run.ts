/**
 * The test runner behind `npm test` and `npm run test:kafka`: node:test over the compiled
 * test files, with a per-test timeout and the file guard (./helpers/file-guard.ts) in every
 * file's process, so that a hang fails with a name instead of stalling the run.
 *
 *   node dist/test/run.js [--unit] [file or folder filter ...]
 *
 * With `KVP_TEST_BROKERS=kafka` it starts one Apache Kafka broker for the whole run, with
 * its secured listeners, and hands its address (and in `KVP_TEST_SECURITY` the secured
 * listeners' description) to every file; `mock` (the default) lets each file start its own
 * embedded cluster; `host:port` uses a broker that already runs.
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

let TEST_TIMEOUT_MS = Number(process.env.KVP_TEST_TIMEOUT_MS ?? 180_000)
const root = fileURLToPath(new URL('.', import.meta.url))
const guard = pathToFileURL(join(root, 'helpers', 'file-guard.js')).href

function testFiles(dir: string): string[] {
  const files: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) files.push(...testFiles(path))
    else if (name.endsWith('.test.js')) files.push(path)
  }
  return files.sort()
}

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
// `--test-timeout=MS` (as package.json's scripts pass it) sets every test's default limit.
const timeoutArg = args.find((arg) => arg.startsWith('--test-timeout='))
if (timeoutArg !== undefined) {
  const ms = Number(timeoutArg.slice('--test-timeout='.length))
  if (!Number.isInteger(ms) || ms < 1) {
    process.stderr.write(`${timeoutArg}: expected a positive number of milliseconds\n`)
    process.exit(2)
  }
  TEST_TIMEOUT_MS = ms
}
const filters = args.filter((arg) => arg !== '--unit' && arg !== timeoutArg)
let files = testFiles(unitOnly ? join(root, 'unit') : root)
if (filters.length > 0) files = files.filter((file) => filters.some((filter) => relative(root, file).includes(filter)))
if (files.length === 0) {
  process.stderr.write(`no test files match ${filters.join(' ')}\n`)
  process.exit(2)
}

const env: NodeJS.ProcessEnv = { ...process.env }
let stopBroker: (() => Promise<void>) | undefined
if (!unitOnly && env.KVP_TEST_BROKERS === 'kafka') {
  const { SECURITY_ENV, secureListenersToEnv, startApacheKafka } = await import('../tools/apache-kafka/broker.js')
  process.stderr.write('starting Apache Kafka for the run...\n')
  const broker = await startApacheKafka({ autoCreateTopics: false, security: true })
  const secured = broker.security ? ` (SASL_SSL at ${broker.security.saslSsl}, mTLS at ${broker.security.mtls})` : ''
  process.stderr.write(`Apache Kafka at ${broker.bootstrapServers}${secured}\n`)
  env.KVP_TEST_BROKERS = broker.bootstrapServers
  env.KVP_TEST_BROKER_KIND = 'kafka'
  if (broker.security) env[SECURITY_ENV] = secureListenersToEnv(broker.security)
  stopBroker = () => broker.stop()
}

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', `--import=${guard}`, ...files], { env, stdio: 'inherit' })
const stopChild = (signal: NodeJS.Signals): void => {
  child.kill(signal)
}
process.on('SIGINT', stopChild)
process.on('SIGTERM', stopChild)
const code = await new Promise<number>((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))))
await stopBroker?.()
process.exit(code)
