import { strict as assert } from 'node:assert'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { useBroker } from '../helpers/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, operationsPort, runArgs, runKvpToEnd, startKvp } from '../helpers/process.js'
import { produceMessages } from '../helpers/produce.js'

const cluster = useBroker()

/** Every byte served on the operations server's pages and endpoints. */
async function everythingServed(port: number): Promise<string> {
  let served = ''
  for (const path of ['/', '/status', '/metrics', '/healthz', '/readyz', '/ui/status.js', '/ui/index.html']) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    served += `${path} ${res.status}\n${JSON.stringify([...res.headers])}\n${await res.text()}\n`
  }
  return served
}

/**
 * The three ways a secret reaches kvp run: a -X flag, a KVP_KAFKA_* variable, a file named
 * by a KVP_KAFKA_*_FILE variable. Each run consumes, serves its status page, logs stats,
 * fails a handler on purpose and stops; then every byte it wrote and served is searched.
 */
const paths: Array<{ name: string; give: (secret: string) => { args: string[]; env: Record<string, string> } }> = [
  { name: 'a -X flag', give: (secret) => ({ args: ['-X', `sasl.password=${secret}`, '-X', `ssl.key.password=${secret}-key`], env: {} }) },
  { name: 'KVP_KAFKA_* variables', give: (secret) => ({ args: [], env: { KVP_KAFKA_SASL_PASSWORD: secret, KVP_KAFKA_SSL_KEY_PASSWORD: `${secret}-key` } }) },
  {
    name: 'files named by KVP_KAFKA_*_FILE variables',
    give: (secret) => {
      const password = tempFile('sasl-password')
      const keyPassword = tempFile('ssl-key-password')
      writeFileSync(password, `${secret}\n`)
      writeFileSync(keyPassword, `${secret}-key\n`)
      return { args: [], env: { KVP_KAFKA_SASL_PASSWORD_FILE: password, KVP_KAFKA_SSL_KEY_PASSWORD_FILE: keyPassword } }
    },
  },
]

for (const path of paths) {
  test(`a secret given through ${path.name} appears nowhere kvp writes: logs, errors, /status, /metrics, the status page`, { timeout: 90_000 }, async (t) => {
    const secret = `kvp-secret-${randomUUID()}`
    const topic = uniqueName('secrets')
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 40, keys: 8, size: 16 })
    const { args, env } = path.give(secret)
    const proc = await startKvp(
      [
        ...runArgs({
          brokers: cluster.bootstrapServers,
          group: uniqueName('g'),
          topic,
          handler: recordingHandler,
          flags: ['--http-port', '0', '--stats-interval-ms', '100', '--max-attempts', '2'],
          kafka: ['session.timeout.ms=6000'],
        }),
        ...args,
      ],
      // The recording handler fails offset 3 of partition 0 once: a handler error is logged too.
      { ...env, KVP_TEST_RECORD: tempFile('handled.tsv'), KVP_TEST_FAIL: '3:1', KVP_DEBUG: '1' },
    )
    t.after(() => ensureDead(proc))
    const port = await operationsPort(proc, 15_000)
    await waitFor('every message handled', async () => ((await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { totals: { handled: number } }).totals.handled >= 40, 60_000, 100)
    const served = await everythingServed(port)
    proc.child.kill('SIGTERM')
    assert.equal(await proc.exited, 0)
    const written = `${proc.output()}\n${served}`
    assert.match(written, /"msg":"stats"/, 'the run logged its stats')
    assert.ok(!written.includes(secret), `the secret appears in what kvp wrote:\n${written.slice(Math.max(0, written.indexOf(secret) - 200), written.indexOf(secret) + 200)}`)
  })
}

test('a secret stays out of a failed start and of a crash report', { timeout: 60_000 }, async () => {
  const secret = `kvp-secret-${randomUUID()}`
  // A usage error that quotes what it was given: here the topic name, which (wrongly) holds the secret too.
  const run = await runKvpToEnd(['run', '--brokers', cluster.bootstrapServers, '--group', 'g', '--topic', `t-${secret}`, '-X', `sasl.password=${secret}`], { KVP_DEBUG: '1' })
  assert.equal(run.code, 2, run.output)
  assert.match(run.output, /topic 't-\[redacted\]' needs a handler module/)
  assert.ok(!run.output.includes(secret), run.output)
})
