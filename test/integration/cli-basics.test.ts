import { strict as assert } from 'node:assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, it, type TestContext } from 'node:test'
import Kafka from 'node-rdkafka'

const BIN = fileURLToPath(new URL('../../../bin/kvp.js', import.meta.url))

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts `kvp ...args` as a child process; the test kills it afterwards if it still runs. */
function spawnKvp(t: TestContext, args: string[]): { child: ChildProcess; finished: Promise<Finished>; stdout: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const finished = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await finished
    }
  })
  return { child, finished, stdout: () => stdout }
}

/** Runs `kvp ...args` to the end (killed after `timeoutMs`). */
async function runKvp(t: TestContext, args: string[], timeoutMs = 60_000): Promise<Finished> {
  const { child, finished } = spawnKvp(t, args)
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  try {
    return await finished
  } finally {
    clearTimeout(timer)
  }
}

/** Waits until the child prints a line matching `pattern` on stdout. */
async function waitForLine(child: ChildProcess, read: () => string, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = read().match(pattern)
    if (match) return match
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`kvp exited before printing ${pattern}`)
    if (Date.now() > deadline) throw new Error(`kvp did not print ${pattern} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Starts `kvp mock-cluster` and returns its bootstrap address. */
async function startCluster(t: TestContext): Promise<{ bootstrap: string; child: ChildProcess; finished: Promise<Finished> }> {
  const { child, finished, stdout } = spawnKvp(t, ['mock-cluster'])
  const match = await waitForLine(child, stdout, /^BOOTSTRAP=(\S+)$/m)
  return { bootstrap: match[1] ?? '', child, finished }
}

/** Sum of (high - low) watermarks per partition of `topic`, read with a plain client. */
async function watermarks(t: TestContext, bootstrap: string, topic: string): Promise<Map<number, number>> {
  const client = new Kafka.Producer({ 'bootstrap.servers': bootstrap, 'client.id': 'kvp-test-watermarks' })
  client.on('event.error', () => {})
  t.after(() => new Promise<void>((resolve) => (client.isConnected() ? client.disconnect(5000, () => resolve()) : resolve())))
  await new Promise<void>((resolve, reject) => client.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => client.getMetadata({ topic, timeout: 10_000 }, (err, data) => (err ? reject(err) : resolve(data))))
  const partitions = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? []
  const counts = new Map<number, number>()
  for (const { id } of partitions) {
    const offsets = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => client.queryWatermarkOffsets(topic, id, 10_000, (err, data) => (err ? reject(err) : resolve(data))))
    counts.set(id, offsets.highOffset - offsets.lowOffset)
  }
  return counts
}

/** Reads one partition from the beginning with a plain consumer until `count` messages arrived. */
async function consumePartition(t: TestContext, bootstrap: string, topic: string, partition: number, count: number): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrap, 'group.id': `kvp-test-${randomUUID()}`, 'enable.auto.commit': false }, { 'auto.offset.reset': 'earliest' })
  consumer.on('event.error', () => {})
  t.after(() => new Promise<void>((resolve) => (consumer.isConnected() ? consumer.disconnect(() => resolve()) : resolve())))
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  consumer.assign([{ topic, partition, offset: 0 }])
  const messages: Kafka.Message[] = []
  const deadline = Date.now() + 20_000
  while (messages.length < count && Date.now() < deadline) {
    const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(100, (err, data) => (err ? reject(err) : resolve(data))))
    messages.push(...batch)
  }
  return messages
}

describe('kvp command line', () => {
  it('kvp --help lists the commands and exits 0', async (t) => {
    const result = await runKvp(t, ['--help'])
    assert.equal(result.code, 0, result.stderr)
    for (const command of ['run', 'mock-cluster', 'produce']) assert.match(result.stdout, new RegExp(`\\b${command}\\b`))
  })

  it('each command has --help that exits 0', async (t) => {
    for (const [command, flag] of [
      ['run', '--lanes'],
      ['mock-cluster', '--brokers'],
      ['produce', '--count'],
    ] as const) {
      const result = await runKvp(t, [command, '--help'])
      assert.equal(result.code, 0, result.stderr)
      assert.ok(result.stdout.includes(flag), `${command} --help mentions ${flag}`)
    }
  })

  it('kvp run without --group exits 2 naming --group', async (t) => {
    const result = await runKvp(t, ['run', '--topic', 'orders', '--handler', './handler.js'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--group/)
  })

  it('a non-numeric --threads exits 2 naming --threads', async (t) => {
    const result = await runKvp(t, ['run', '--group', 'g', '--topic', 't', '--handler', './h.js', '--threads', 'abc'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--threads/)
  })

  it('an unknown command or flag exits 2', async (t) => {
    assert.equal((await runKvp(t, ['frobnicate'])).code, 2)
    const result = await runKvp(t, ['produce', '--brokers', 'x', '--topic', 't', '--count', '1', '--bogus'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--bogus/)
  })

  it('a missing handler module exits 2 naming --handler', async (t) => {
    const result = await runKvp(t, ['run', '--group', 'g', '--topic', 't', '--handler', './no-such-handler.js'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--handler/)
  })

  it('kvp mock-cluster prints its BOOTSTRAP line and exits 0 on SIGTERM', async (t) => {
    const { bootstrap, child, finished } = await startCluster(t)
    assert.match(bootstrap, /^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$/)
    child.kill('SIGTERM')
    const result = await finished
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout.split('\n').filter((line) => line.startsWith('BOOTSTRAP=')).length, 1)
  })

  it('kvp produce writes N messages to the cluster, spread over its partitions by key', async (t) => {
    const { bootstrap, child, finished } = await startCluster(t)
    const topic = `cli-produce-${randomUUID()}`
    const result = await runKvp(t, ['produce', '--brokers', bootstrap, '--topic', topic, '--count', '2000', '--keys', '50', '--size', '64'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, new RegExp(`^produced 2000 messages to ${topic} in \\d+ ms$`, 'm'))

    const counts = await watermarks(t, bootstrap, topic)
    assert.equal(
      [...counts.values()].reduce((sum, n) => sum + n, 0),
      2000,
    )
    assert.ok([...counts.values()].filter((n) => n > 0).length > 1, 'keys spread over more than one partition')

    child.kill('SIGTERM')
    assert.equal((await finished).code, 0)
  })

  it('kvp produce --partition --json writes numbered JSON values with cycling keys to that partition', async (t) => {
    const { bootstrap, child, finished } = await startCluster(t)
    const topic = `cli-produce-json-${randomUUID()}`
    const result = await runKvp(t, ['produce', '--brokers', bootstrap, '--topic', topic, '--count', '30', '--keys', '7', '--size', '80', '--partition', '2', '--json'])
    assert.equal(result.code, 0, result.stderr)

    const counts = await watermarks(t, bootstrap, topic)
    assert.deepEqual(
      [...counts.entries()].filter(([, n]) => n > 0),
      [[2, 30]],
    )

    const messages = await consumePartition(t, bootstrap, topic, 2, 30)
    assert.equal(messages.length, 30)
    messages.forEach((message, i) => {
      const value = JSON.parse(message.value?.toString() ?? 'null') as { id: number; key: string; pad: string }
      assert.equal(value.id, i)
      assert.equal(value.key, `key-${i % 7}`)
      assert.equal(message.key?.toString(), `key-${i % 7}`)
      assert.equal(message.value?.length, 80)
    })

    child.kill('SIGTERM')
    assert.equal((await finished).code, 0)
  })

  it('kvp produce refuses --brokers mock with exit 2', async (t) => {
    const result = await runKvp(t, ['produce', '--brokers', 'mock', '--topic', 't', '--count', '1'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /--brokers/)
  })
})
