import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { resolveOptions } from '../../../src/config/resolve.js'
import { ConfigError } from '../../../src/errors.js'

const base = { groupId: 'g', topics: [{ topic: 'orders', handler: './handler.js' }] }

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.code, 'KVP_CONFIG')
    return error.field
  }
  assert.fail('expected an error')
}

test('defaults: embedded cluster, 64 sticky lanes split by key, retries without end, auto offset reset earliest', () => {
  const options = resolveOptions(base)
  assert.equal(options.brokers, 'mock')
  const route = options.routes[0]
  assert.ok(route)
  assert.equal(route.lanes, 64)
  assert.equal(route.distribution, 'sticky')
  assert.equal(route.partitioner, 'key')
  assert.equal(route.maxAttempts, Infinity)
  assert.ok(route.handlerUrl.startsWith('file:///'))
  assert.ok(options.threads >= 2)
  assert.equal(options.fromBeginning, true)
})

test('a dead-letter topic bounds attempts by default', () => {
  const options = resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h.js', deadLetter: { topic: 'a-dlq' } }] })
  assert.equal(options.routes[0]?.maxAttempts, 10)
})

test('virtualPartitions: false gives one lane per partition', () => {
  const route = resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h.js', virtualPartitions: false }] }).routes[0]
  assert.equal(route?.lanes, 1)
  assert.equal(route?.split, false)
})

test('wrong or missing options throw a ConfigError naming the field', () => {
  assert.equal(
    fieldOf(() => resolveOptions({ topics: base.topics })),
    'groupId',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ groupId: 'g', topics: [] })),
    'topics',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ groupId: 'g', topics: [{ topic: 'a' }] })),
    'topics[0].handler',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, threads: 0 })),
    'threads',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, threads: 1.5 })),
    'threads',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { lanes: 0 } }] })),
    'topics[0].virtualPartitions.lanes',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { distribution: 'random' } }] })),
    'topics[0].virtualPartitions.distribution',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: { header: 1 } } }] })),
    'topics[0].virtualPartitions.partitioner.header',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: 'value' } }] })),
    'topics[0].virtualPartitions.partitioner',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: { json: 'a..b' } } }] })),
    'topics[0].virtualPartitions.partitioner.json',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { lanes: 4097 } }] })),
    'topics[0].virtualPartitions.lanes',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', retry: { backoffMs: 500, maxBackoffMs: 100 } }] })),
    'topics[0].retry.maxBackoffMs',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { maxLanes: 4 } }] })),
    'topics[0].virtualPartitions.maxLanes',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', payload: 'xml' }] })),
    'topics[0].payload',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', deadLetter: { topic: 'a' } }] })),
    'topics[0].deadLetter.topic',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', retry: { maxAttempts: 0 } }] })),
    'topics[0].retry.maxAttempts',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: { protobuf: 'id' } } }] })),
    'topics[0].virtualPartitions.partitioner',
  )
  assert.equal(
    fieldOf(() =>
      resolveOptions({
        ...base,
        topics: [
          { topic: 'a', handler: 'h' },
          { topic: 'a', handler: 'h' },
        ],
      }),
    ),
    'topics[1].topic',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, treads: 2 })),
    'treads',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, backpressure: { resumeRatio: 2 } })),
    'backpressure.resumeRatio',
  )
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, kafka: { 'fetch.wait.max.ms': {} } })),
    'kafka.fetch.wait.max.ms',
  )
})

test('with group.protocol=consumer (KIP-848), settings the broker owns are refused before anything starts, each named', () => {
  for (const key of ['session.timeout.ms', 'heartbeat.interval.ms', 'partition.assignment.strategy', 'group.protocol.type']) {
    assert.equal(
      fieldOf(() => resolveOptions({ ...base, kafka: { 'group.protocol': 'consumer', [key]: 'x' } })),
      `kafka.${key}`,
    )
  }
  // The classic protocol still takes them, and the consumer protocol takes the rest.
  resolveOptions({ ...base, kafka: { 'group.protocol': 'classic', 'session.timeout.ms': 6000, 'partition.assignment.strategy': 'cooperative-sticky' } })
  resolveOptions({ ...base, kafka: { 'group.protocol': 'consumer', 'group.remote.assignor': 'uniform', 'max.poll.interval.ms': 300000 } })
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, kafka: { 'group.protocol': 'next' } })),
    'kafka.group.protocol',
  )
})

test('librdkafka settings kvp owns are refused while the options are read, before any handler loads', () => {
  assert.equal(
    fieldOf(() => resolveOptions({ ...base, kafka: { 'enable.auto.offset.store': true } })),
    'kafka.enable.auto.offset.store',
  )
})

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.message
  }
  assert.fail('expected an error')
}

test('a ConfigError says what was expected and what was given', () => {
  assert.match(
    messageOf(() => resolveOptions({ ...base, threads: 0 })),
    /^threads: expected an integer from 1 to 1024, got 0$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, treads: 2 })),
    /^treads: unknown option \(expected one of: brokers, groupId, topics, threads, /,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { distribution: 'random' } }] })),
    /expected 'consistent', 'balanced' or 'sticky', got "random"$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', payload: 'xml' }] })),
    /expected 'raw', 'json' or \{ protobuf: 'file.proto', type: 'pkg.Message' \}, got "xml"$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { partitioner: 7 } }] })),
    /expected 'key', \{ header: 'name' \}, \{ json: 'a.b' \}, \{ protobuf: 'field' \} or a function, got 7$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', virtualPartitions: { lanes: 4097 } }] })),
    /expected an integer from 1 to 4096, got 4097$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', deadLetter: { topic: 'a' } }] })),
    /must differ from the topic it serves$/,
  )
  assert.match(
    messageOf(() => resolveOptions({ ...base, kafka: { 'fetch.wait.max.ms': {} } })),
    /expected a string, number or boolean, got object$/,
  )
  assert.match(
    messageOf(() => resolveOptions('groupId=g')),
    /^options: expected an object$/,
  )
})

test('schema defaults and computed defaults are filled in', () => {
  const options = resolveOptions({ ...base, threads: 2, topics: [{ topic: 'a', handler: 'h', retry: { backoffMs: 40_000 }, virtualPartitions: { lanes: 256 } }] })
  assert.equal(options.maxSliceMessages, 512)
  assert.equal(options.batchSize, 4000, '16 messages a poll per lane, at most 4000')
  assert.equal(options.backedUpBatchSize, 1000, 'a poll while lanes are backed up')
  assert.equal(options.maxInFlightPerPartition, 20_480, '80 messages a lane, more than five polls here')
  assert.equal(options.resumeRatio, 0.5)
  assert.equal(options.revokeTimeoutMs, 10_000)
  assert.equal(options.concurrencyPerThread, 128, 'every lane of the widest route can be in flight: 256 lanes over 2 threads')
  const route = options.routes[0]
  assert.equal(route?.maxBackoffMs, 40_000, 'the cap is at least the first backoff')
  assert.equal(route?.payload, 'raw')
  assert.equal(route?.manualOffsets, false)
  assert.equal(resolveOptions({ ...base, topics: [{ topic: 'a', handler: 'h', retry: { maxAttempts: Infinity } }] }).routes[0]?.maxAttempts, Infinity)
})

test('a handler path becomes a file: URL and a URL is kept as it is', () => {
  const url = (handler: string): string | undefined => resolveOptions({ ...base, topics: [{ topic: 'a', handler }] }).routes[0]?.handlerUrl
  assert.equal(url('data:text/javascript,export default () => {}'), 'data:text/javascript,export default () => {}')
  assert.equal(url('file:///srv/h.js'), 'file:///srv/h.js')
  assert.equal(url('/srv/h.js'), 'file:///srv/h.js')
  assert.match(url('h.js') ?? '', /^file:\/\/\/.+\/h\.js$/)
})

test("the poll size follows the widest route's lanes, within 1000..4000, and the in-flight limit follows the poll and the lanes", () => {
  const sized = (lanes: number | false, extra: Record<string, unknown> = {}) => {
    const options = resolveOptions({ ...base, ...extra, topics: [{ topic: 'a', handler: 'h', virtualPartitions: lanes === false ? false : { lanes } }] })
    return [options.batchSize, options.backedUpBatchSize, options.maxInFlightPerPartition]
  }
  assert.deepEqual(sized(false), [1000, 1000, 5000])
  assert.deepEqual(sized(16), [1000, 1000, 5000])
  assert.deepEqual(sized(64), [1024, 1000, 5120])
  assert.deepEqual(sized(200), [3200, 1000, 16_000], 'five polls')
  assert.deepEqual(sized(1024), [4000, 1000, 81_920], '80 a lane')
  assert.deepEqual(sized(256, { batchSize: 500 }), [500, 500, 20_480], 'a given batchSize is kept, backed up or not')
  assert.deepEqual(sized(256, { backpressure: { maxInFlightPerPartition: 700 } }), [4000, 1000, 700], 'a given limit is kept')
})
