import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { DeadLetterHeaders } from '../../src/index.js'
import { createProducer } from '../../src/kafka/delivery-producer.js'
import { useBroker } from '../helpers/broker.js'
import { deadLetterNames } from '../helpers/engine-run.js'
import { committedOrZero, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, runArgs, runKvpToEnd, startKvp } from '../helpers/process.js'
import type { KvpProcess } from '../helpers/process.js'
import { readRecords } from '../helpers/records.js'
import { readTopic } from '../helpers/read-topic.js'

const cluster = useBroker()

test('kvp run with a config file: JSON payloads, retries and a dead-letter topic work as from startEngine()', async (t) => {
  const { topic, deadLetterTopic, groupId, record } = await deadLetterNames(cluster.bootstrapServers, 'orders')
  const config = tempFile('kvp.json')
  writeFileSync(
    config,
    JSON.stringify({
      // Editors check the file against it; kvp run accepts the key and ignores it.
      $schema: '../kvp.schema.json',
      brokers: cluster.bootstrapServers,
      groupId,
      threads: 2,
      kafka: { 'session.timeout.ms': 6000, 'auto.commit.interval.ms': 200 },
      topics: [
        {
          topic,
          handler: recordingHandler,
          payload: 'json',
          virtualPartitions: { partitioner: { json: 'customer' }, lanes: 8 },
          retry: { maxAttempts: 3, backoffMs: 10 },
          deadLetter: { topic: deadLetterTopic },
          handlerTimeoutMs: 5000,
        },
      ],
    }),
  )
  const producer = await createProducer(cluster.bootstrapServers)
  for (let i = 0; i < 30; i++) await producer.produce(topic, 0, Buffer.from(JSON.stringify({ id: i, customer: `c${i % 4}` })), `order-${i}`)
  await producer.produce(topic, 0, Buffer.from('{not json'), 'broken')
  await producer.produce(topic, 0, Buffer.from(JSON.stringify({ id: 31, customer: 'c1' })), 'order-31')
  await producer.close()

  let kvp: KvpProcess | undefined
  t.after(() => ensureDead(kvp))
  kvp = await startKvp(['run', '--config', config, '--stats-interval-ms', '0'], { KVP_TEST_RECORD: record, KVP_TEST_FAIL: '3:1' })
  await waitFor('the valid orders handled', () => readRecords(record).length >= 31, 30_000)
  const [dead] = await readTopic(cluster.bootstrapServers, deadLetterTopic, 1)
  assert.equal(dead?.key, 'broken')
  assert.equal(dead?.headers[DeadLetterHeaders.errorCode], 'KVP_DECODE')
  await waitFor('the committed offset at the end', async () => (await committedOrZero(cluster.bootstrapServers, groupId, topic))[0] === 32, 15_000, 250)
  kvp.child.kill('SIGTERM')
  assert.equal(await kvp.exited, 0, kvp.output())
  const records = readRecords(record)
  assert.equal(records.find((r) => r.offset === 3)?.attempt, 2, 'the failing order was retried')
  assert.match(kvp.output(), /KVP_DECODE/, 'the dead letter was logged with its code')
})

test('a handler module that exports no function fails kvp run at start with exit 2, naming the option, every time', async () => {
  const handler = tempFile('no-function.mjs')
  writeFileSync(handler, 'export const notAHandler = 1\n')
  for (let i = 0; i < 3; i++) {
    const { code, stderr } = await runKvpToEnd(runArgs({ brokers: cluster.bootstrapServers, group: uniqueName('g'), topic: uniqueName('t'), handler, flags: ['--stats-interval-ms', '0'] }))
    assert.equal(code, 2, stderr)
    assert.match(stderr, /topics\[0\]\.handler: .*exports no function/)
  }
})
