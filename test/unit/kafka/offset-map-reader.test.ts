import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { channels } from '../../../src/diagnostics.js'
import type { OffsetMapEvent } from '../../../src/diagnostics.js'
import { knownDoneKey, readKnownDone } from '../../../src/kafka/offset-map-reader.js'
import type { CommittedSource } from '../../../src/kafka/offset-map-reader.js'
import { encodeOffsetMap } from '../../../src/offsets/offset-map.js'

function source(answer: Kafka.TopicPartitionOffsetAndMetadata[] | Error): CommittedSource & { asked: Kafka.TopicPartition[][] } {
  const asked: Kafka.TopicPartition[][] = []
  return {
    asked,
    committed(toppars, _timeout, cb) {
      asked.push(toppars)
      setImmediate(() => (answer instanceof Error ? cb(answer as unknown as Kafka.LibrdKafkaError, []) : cb(undefined as unknown as Kafka.LibrdKafkaError, answer)))
    },
  }
}

function listen(): { events: OffsetMapEvent[]; stop: () => void } {
  const events: OffsetMapEvent[] = []
  const stop = channels.offsetMap.subscribe((event) => events.push(event))
  return { events, stop }
}

test("kvp's own map gives the offsets done above the committed one; a partition without metadata has none", async () => {
  const map = encodeOffsetMap(100, [101, 105])?.text
  const consumer = source([
    { topic: 't', partition: 0, offset: 100, metadata: map as string },
    { topic: 't', partition: 1, offset: 7 },
  ])
  const { events, stop } = listen()
  try {
    const known = await readKnownDone(consumer, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ])
    assert.deepEqual(consumer.asked, [
      [
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
      ],
    ])
    const zero = known.get(knownDoneKey('t', 0))
    assert.ok(zero)
    assert.deepEqual(
      [100, 101, 102, 105].map((offset) => zero.has(offset)),
      [false, true, false, true],
    )
    assert.equal(known.has(knownDoneKey('t', 1)), false)
    assert.deepEqual(events, [{ topic: 't', partition: 0, committed: 100, done: 2 }])
  } finally {
    stop()
  }
})

test("metadata that is not a map kvp can prove (another client's, altered, another committed offset) is reported once with its problem and skips nothing", async () => {
  const ours = encodeOffsetMap(50, [52])?.text as string
  const altered = `${ours.slice(0, -4)}AAAA`
  const consumer = source([
    { topic: 't', partition: 0, offset: 10, metadata: 'a consumer wrote this' },
    { topic: 't', partition: 1, offset: 50, metadata: altered },
    { topic: 't', partition: 2, offset: 60, metadata: ours },
  ])
  const { events, stop } = listen()
  try {
    const known = await readKnownDone(
      consumer,
      [0, 1, 2].map((partition) => ({ topic: 't', partition })),
    )
    assert.equal(known.size, 0)
    assert.equal(events.length, 3)
    for (const event of events) assert.ok(event.problem, `partition ${event.partition} has a problem`)
    assert.match(events[0]?.problem ?? '', /not a kvp offset map/)
  } finally {
    stop()
  }
})

test('a failed read skips nothing: the partitions run from their committed offsets', async () => {
  const known = await readKnownDone(source(new Error('coordinator not available')), [{ topic: 't', partition: 0 }])
  assert.equal(known.size, 0)
})
