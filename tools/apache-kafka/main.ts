/**
 * `npm run kafka`: Apache Kafka on 127.0.0.1 until SIGTERM/SIGINT. Prints
 * `BOOTSTRAP=127.0.0.1:PORT` on its own line on stdout once the broker serves (with
 * `--security`, first `SECURITY=<file>`: the secured listeners, their TLS files and users
 * as JSON, passwords included, in a file only this user can read); on the
 * first signal (or when its parent process exits) stops the JVM, removes the broker's
 * folder and exits 0. A broker that cannot
 * start exits 1 with a one-line reason on stderr (the full one with `--verbose`).
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { KAFKA_VERSION, secureListenersToEnv, startApacheKafka, type ApacheKafka } from './broker.js'

interface Flags {
  autoCreateTopics: boolean
  security: boolean
  startTimeout: number
  verbose: boolean
}

const program = new Command('kafka')
  .description(`Serve Apache Kafka ${KAFKA_VERSION} (one KRaft node) on 127.0.0.1 until SIGTERM/SIGINT.`)
  .option('--no-auto-create-topics', 'create topics only on request (auto.create.topics.enable=false)')
  .option('--security', 'also serve SASL_SSL, wrong-host and mTLS listeners with ACLs enforced; prints SECURITY=<file> describing them', false)
  .addOption(new Option('--start-timeout <ms>', 'how long the broker may take to come up').default(60_000).argParser(parseMs))
  .option('--verbose', 'print progress and full error messages on stderr', false)
  .parse()
const flags = program.opts<Flags>()

function parseMs(text: string): number {
  const ms = Number(text)
  if (!Number.isInteger(ms) || ms <= 0) throw new InvalidArgumentError(`expected a positive number of milliseconds, got ${text}`)
  return ms
}

let stopSignal: string | undefined
let wakeUp: () => void = () => {}
const stopRequested = new Promise<void>((resolve) => (wakeUp = resolve))
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopSignal !== undefined) {
      // A second signal: leave now; the JVM's guard sees this process go and stops it.
      process.stderr.write(`kafka: ${signal} again: exiting without cleaning up\n`)
      process.exit(1)
    }
    stopSignal = signal
    wakeUp()
  })
}

// `npm run kafka` puts npm and a shell above this process, and a SIGTERM to npm does not
// reach it: being handed to another parent is a stop request too.
const parentAtStart = process.ppid
const parentWatch = setInterval(() => {
  if (process.ppid === parentAtStart || stopSignal !== undefined) return
  stopSignal = 'parent exited'
  wakeUp()
}, 500)
parentWatch.unref()

let kafka: ApacheKafka | undefined
try {
  kafka = await startApacheKafka({
    autoCreateTopics: flags.autoCreateTopics,
    security: flags.security,
    startTimeoutMs: flags.startTimeout,
    ...(flags.verbose ? { log: (line: string) => process.stderr.write(`kafka: ${line}\n`) } : {}),
  })
} catch (err) {
  const message = err instanceof Error ? err.message : String(err)
  process.stderr.write(`kafka: cannot start Apache Kafka ${KAFKA_VERSION}: ${flags.verbose ? message : (message.split('\n')[0] ?? message)}\n`)
  process.exit(1)
}

// SECURITY= comes first: BOOTSTRAP= stays the last line, the one that says all is ready.
let securityFile: string | undefined
if (kafka.security) {
  // The passwords go to a file only this user can read, never to the terminal.
  securityFile = join(kafka.dataDir, 'security.json')
  await writeFile(securityFile, `${secureListenersToEnv(kafka.security)}\n`, { mode: 0o600 })
  process.stdout.write(`SECURITY=${securityFile}\n`)
}
process.stdout.write(`BOOTSTRAP=${kafka.bootstrapServers}\n`)
process.stderr.write(
  `kafka: Apache Kafka ${KAFKA_VERSION} at ${kafka.bootstrapServers} (data and broker.log in ${kafka.dataDir}); ` +
    `use it with \`kvp run --brokers ${kafka.bootstrapServers} ...\`; stop with SIGTERM or Ctrl-C\n`,
)
if (kafka.security) {
  process.stderr.write(`kafka: secured listeners: SASL_SSL ${kafka.security.saslSsl}, WRONGHOST ${kafka.security.wrongHost}, MTLS ${kafka.security.mtls} (users and TLS files in ${securityFile})\n`)
}
await stopRequested
clearInterval(parentWatch)
process.stderr.write(`kafka: ${stopSignal ?? 'stop'}: stopping the broker\n`)
await kafka.stop()
process.exitCode = 0
