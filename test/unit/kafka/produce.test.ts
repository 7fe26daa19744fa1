import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import Kafka from 'node-rdkafka'
import { producerKeepsBinaryHeaders } from '../../../src/index.js'
import { useBroker } from '../../helpers/broker.js'
import { uniqueName } from '../../helpers/kafka.js'
import { ensureTopic } from '../../helpers/produce.js'
import { readRawTopic } from '../../helpers/read-topic.js'

const UNPATCHED = "node-rdkafka's binding is not patched: run `npm run postinstall` (scripts/patch-node-rdkafka.js)"

describe('the patched node-rdkafka producer', { timeout: 60_000 }, () => {
  const cluster = useBroker()

  test('the binding reports that its producer keeps binary header values', { timeout: 5_000 }, () => {
    assert.equal(producerKeepsBinaryHeaders(), true, UNPATCHED)
  })

  test('a header <00 01 02> produced by node-rdkafka reads back intact, and text headers still travel as their UTF-8 bytes', { timeout: 30_000 }, async (t) => {
    const topic = uniqueName('headers')
    await ensureTopic(cluster.bootstrapServers, topic)
    const producer = new Kafka.Producer({ 'bootstrap.servers': cluster.bootstrapServers, log_level: 3, 'linger.ms': 0 })
    await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
    t.after(() => new Promise<void>((resolve) => producer.disconnect(5_000, () => resolve())))

    const backing = Buffer.from([0x09, 0x00, 0x08, 0xff, 0x07])
    producer.produce(topic, 0, Buffer.from([0x00, 0xc3, 0x28, 0xff]), Buffer.from([0xff, 0x00, 0xfe]), null, null, [
      { hx: Buffer.from([0x00, 0x01, 0x02]) },
      { text: 'plain text, ü' },
      { empty: Buffer.alloc(0) },
      // A view into a larger buffer: its own bytes, not the backing store's first ones.
      { view: backing.subarray(1, 4) },
      // Any Uint8Array is taken as bytes.
      { u8: new Uint8Array([0x80, 0x00, 0xc0]) as unknown as Buffer },
    ])
    await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())))

    const [message] = await readRawTopic(cluster.bootstrapServers, topic, 1)
    assert.ok(message, 'the message was read back')
    assert.deepEqual(message.key, Buffer.from([0xff, 0x00, 0xfe]), 'the key, byte for byte')
    assert.deepEqual(message.value, Buffer.from([0x00, 0xc3, 0x28, 0xff]), 'the value, byte for byte')
    assert.deepEqual(
      message.headers,
      [
        { hx: Buffer.from([0x00, 0x01, 0x02]) },
        { text: Buffer.from('plain text, ü', 'utf8') },
        { empty: Buffer.alloc(0) },
        { view: Buffer.from([0x00, 0x08, 0xff]) },
        { u8: Buffer.from([0x80, 0x00, 0xc0]) },
      ],
      UNPATCHED,
    )
  })
})
