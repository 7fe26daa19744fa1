import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { Kafka as KafkaJs, logLevel } from 'kafkajs'
import type Kafka from 'node-rdkafka'
import { DeadLetterHeaders, startEngine } from '../../src/index.js'
import { useBroker } from '../helpers/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { random } from '../helpers/random.js'
import { ensureTopic } from '../helpers/produce.js'
import { readRawTopic } from '../helpers/read-topic.js'

/** One message as KafkaJS writes it: each header name with its values in order (repeats kept). */
interface Original {
  key: Buffer | null
  value: Buffer
  headers: Array<[string, Buffer[]]>
}

const bytes = (...values: number[]): Buffer => Buffer.from(values)

function randomBytes(length: number, seed: number): Buffer {
  const next = random(seed)
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256)
  return out
}

/** Keys, values and headers that a C string or a UTF-8 round trip would damage. */
function originals(): Original[] {
  return [
    { key: bytes(0x00, 0x01, 0x02), value: bytes(0x00, 0x00, 0xff), headers: [['hx', [bytes(0x00, 0x01, 0x02)]]] },
    {
      key: bytes(0xff, 0xfe, 0x00, 0xfd),
      value: bytes(0xc3, 0x28, 0xa0, 0xa1),
      headers: [
        ['nul-first', [bytes(0x00, 0x61, 0x62)]],
        ['all-ff', [bytes(0xff, 0xff, 0xff)]],
      ],
    },
    // Invalid UTF-8: a lone continuation byte, an overlong NUL, an encoded surrogate, a truncated sequence.
    {
      key: bytes(0x80),
      value: bytes(0xc0, 0x80),
      headers: [
        ['invalid-utf8', [bytes(0x80, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xe2, 0x82)]],
        ['text', [Buffer.from('plain ü €', 'utf8')]],
      ],
    },
    {
      key: bytes(0x61, 0x00),
      value: bytes(0x01),
      headers: [
        ['empty', [Buffer.alloc(0)]],
        ['after-empty', [bytes(0x00)]],
      ],
    },
    // The same name several times: each value, in order.
    {
      key: bytes(0xde, 0xad, 0x00, 0xbe, 0xef),
      value: bytes(0xfe, 0x00),
      headers: [
        ['repeated', [bytes(0x01, 0x00), bytes(0x00, 0x02), Buffer.alloc(0), bytes(0xff)]],
        ['other', [bytes(0x00)]],
      ],
    },
    {
      key: randomBytes(300, 1),
      value: randomBytes(2_000, 2),
      headers: [
        ['large', [randomBytes(100_000, 3)]],
        ['small', [bytes(0x00)]],
      ],
    },
    { key: null, value: randomBytes(64, 4), headers: [['null-key', [bytes(0xff, 0x00)]]] },
  ]
}

/** The headers a consumer should see for an original message: one `{ name: bytes }` per value. */
function flatHeaders(original: Original): Array<[string, Buffer]> {
  return original.headers.flatMap(([name, values]) => values.map((value): [string, Buffer] => [name, value]))
}

function headerPairs(message: Kafka.Message): Array<[string, Buffer]> {
  return (message.headers ?? []).map((header) => {
    const entries = Object.entries(header)
    assert.equal(entries.length, 1, 'one name per header object')
    const [name, value] = entries[0] as [string, string | Buffer]
    return [name, Buffer.isBuffer(value) ? value : Buffer.from(value)]
  })
}

const hex = (pairs: Array<[string, Buffer]>): string[] => pairs.map(([name, value]) => `${name}=${value.toString('hex')}`)

describe('binary keys, values and headers', { timeout: 120_000 }, () => {
  const cluster = useBroker()

  test('a dead letter carries its key, value and every original header byte for byte (NUL, 0xff, invalid UTF-8, empty, repeated, large), in order, then the kvp-* headers', {
    timeout: 90_000,
  }, async (t) => {
    const topic = uniqueName('binary')
    const deadLetterTopic = uniqueName('binary-dlq')
    const messages = originals()
    await ensureTopic(cluster.bootstrapServers, topic)
    await ensureTopic(cluster.bootstrapServers, deadLetterTopic)

    const kafkajs = new KafkaJs({ clientId: uniqueName('kafkajs'), brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING })
    const producer = kafkajs.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      await producer.send({
        topic,
        messages: messages.map((m) => ({
          partition: 0,
          key: m.key,
          value: m.value,
          headers: Object.fromEntries(m.headers.map(([name, values]) => [name, values.length === 1 ? (values[0] as Buffer) : values])),
        })),
      })
    } finally {
      await producer.disconnect()
    }

    // Every message fails its only attempt: offsets 0..n-1 of partition 0.
    process.env.KVP_TEST_FAIL = messages.map((_, offset) => `${offset}:1000`).join(',')
    process.env.KVP_TEST_RECORD = tempFile('handled.tsv')
    t.after(() => {
      delete process.env.KVP_TEST_FAIL
      delete process.env.KVP_TEST_RECORD
    })
    const engine = await startEngine({
      brokers: cluster.bootstrapServers,
      groupId: uniqueName('g'),
      topics: [{ topic, handler: recordingHandler, virtualPartitions: { lanes: 4 }, retry: { maxAttempts: 1 }, deadLetter: { topic: deadLetterTopic } }],
      threads: 1,
      kafka: { 'session.timeout.ms': 6000 },
    })
    t.after(() => engine.stop())
    await waitFor(`${messages.length} dead letters`, () => engine.stats().totals.deadLettered >= messages.length, 60_000)
    await engine.stop()

    const dead = await readRawTopic(cluster.bootstrapServers, deadLetterTopic, messages.length)
    assert.equal(dead.length, messages.length, 'every message reached the dead-letter topic once')
    const byOffset = new Map<number, Kafka.Message>()
    for (const message of dead) {
      const offset = headerPairs(message)
        .find(([name]) => name === DeadLetterHeaders.offset)?.[1]
        .toString()
      assert.ok(offset !== undefined, 'a dead letter names its original offset')
      byOffset.set(Number(offset), message)
    }

    messages.forEach((original, offset) => {
      const message = byOffset.get(offset)
      assert.ok(message, `the dead letter of offset ${offset}`)
      assert.deepEqual(message.key ?? null, original.key, `offset ${offset}: the key, byte for byte`)
      assert.deepEqual(message.value, original.value, `offset ${offset}: the value, byte for byte`)

      const pairs = headerPairs(message)
      const expected = flatHeaders(original)
      assert.deepEqual(hex(pairs.slice(0, expected.length)), hex(expected), `offset ${offset}: the original headers, byte for byte, in order`)

      const kvp = pairs.slice(expected.length)
      assert.deepEqual(
        kvp.map(([name]) => name),
        [DeadLetterHeaders.errorMessage, DeadLetterHeaders.errorCode, DeadLetterHeaders.topic, DeadLetterHeaders.partition, DeadLetterHeaders.offset, DeadLetterHeaders.attempts],
        `offset ${offset}: kvp's headers follow the original ones`,
      )
      const text = Object.fromEntries(kvp.map(([name, value]) => [name, value.toString('utf8')]))
      assert.match(text[DeadLetterHeaders.errorMessage] ?? '', new RegExp(`planned failure at offset ${offset}, attempt 1`))
      assert.equal(text[DeadLetterHeaders.errorCode], 'KVP_HANDLER')
      assert.equal(text[DeadLetterHeaders.topic], topic)
      assert.equal(text[DeadLetterHeaders.partition], '0')
      assert.equal(text[DeadLetterHeaders.offset], String(offset))
      assert.equal(text[DeadLetterHeaders.attempts], '1')
    })
  })
})
