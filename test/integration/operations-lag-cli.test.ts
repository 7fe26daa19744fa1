import { strict as assert } from 'node:assert'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { useBroker } from '../helpers/broker.js'
import { uniqueName } from '../helpers/kafka.js'
import { kvpBin } from '../helpers/paths.js'
import { produceMessages } from '../helpers/produce.js'

const cluster = useBroker()

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `kvp ...args` as a child process to its end (killed after 60 s). */
function kvp(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [kvpBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Commits `offset` for `topic`[`partition`] in `groupId` from a client that assigns the partition by hand (no group join). */
async function commitOffset(groupId: string, topic: string, partition: number, offset: number): Promise<void> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': cluster.bootstrapServers, 'group.id': groupId, 'enable.auto.commit': false, log_level: 3 }, {})
  consumer.on('event.error', () => {})
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    consumer.assign([{ topic, partition }])
    consumer.commitSync({ topic, partition, offset })
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  }
}

interface LagJson {
  group: string
  totalLag: number
  partitions: Array<{ topic: string; partition: number; committed: number | null; lowWatermark: number; highWatermark: number; lag: number }>
}

test('kvp lag prints the committed offset, high watermark and lag of a group without joining it, as a table or JSON', async () => {
  const topic = uniqueName('t')
  const groupId = uniqueName('g')
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 10, keys: 5, size: 20, partition: 0 })
  await commitOffset(groupId, topic, 0, 7)

  const json = await kvp(['lag', '--brokers', cluster.bootstrapServers, '--group', groupId, '--topic', topic, '--json'])
  assert.equal(json.code, 0, json.stderr)
  const parsed = JSON.parse(json.stdout) as LagJson
  assert.equal(parsed.group, groupId)
  assert.deepEqual(
    parsed.partitions.map((p) => [p.partition, p.committed, p.highWatermark, p.lag]),
    [
      [0, 7, 10, 3],
      [1, null, 0, 0],
      [2, null, 0, 0],
      [3, null, 0, 0],
    ],
  )
  assert.equal(parsed.totalLag, 3)

  // Without --topic: the topics the group has committed offsets for, as a table.
  const table = await kvp(['lag', '--brokers', cluster.bootstrapServers, '--group', groupId])
  assert.equal(table.code, 0, table.stderr)
  const lines = table.stdout.trim().split('\n')
  assert.deepEqual(lines[0]?.split(/\s+/), ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG'])
  const rows = lines.slice(1, -1).map((line) => line.split(/\s+/))
  assert.deepEqual(
    rows.filter((row) => row[1] === topic),
    [[groupId, topic, '0', '7', '10', '3']],
  )
  assert.match(lines.at(-1) ?? '', /^total lag \d+$/)
})

test('kvp lag exits 2 on bad usage and names what was wrong', async () => {
  const noGroup = await kvp(['lag', '--brokers', cluster.bootstrapServers])
  assert.equal(noGroup.code, 2)
  assert.match(noGroup.stderr, /--group/)
  const noBrokers = await kvp(['lag', '--group', 'g'])
  assert.equal(noBrokers.code, 2)
  assert.match(noBrokers.stderr, /--brokers/)
  const unknownTopic = await kvp(['lag', '--brokers', cluster.bootstrapServers, '--group', 'g', '--topic', uniqueName('missing')])
  assert.equal(unknownTopic.code, 2)
  assert.match(unknownTopic.stderr, /--topic: no topic named 'missing-/)
  const badTimeout = await kvp(['lag', '--brokers', cluster.bootstrapServers, '--group', 'g', '--timeout-ms', 'soon'])
  assert.equal(badTimeout.code, 2)
  assert.match(badTimeout.stderr, /--timeout-ms/)
})
