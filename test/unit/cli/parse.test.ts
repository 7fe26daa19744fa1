import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { InvalidArgumentError } from 'commander'
import type { EngineOptions } from '../../../src/config/options.js'
import { ErrorCodes, KvpError } from '../../../src/errors.js'
import {
  coerceKafkaValue,
  collectKafkaSetting,
  flagParser,
  isUrlLike,
  kafkaSettingFlag,
  lanesFlag,
  mergeRunOptions,
  parseKafkaSetting,
  parseNonNegativeInt,
  parsePartitioner,
  parsePositiveInt,
  resolveHandler,
} from '../../../src/cli/parse.js'

/** Asserts a usage error naming `flag`. */
function throwsUsage(fn: () => unknown, flag: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KvpError, `expected a KvpError, got ${String(err)}`)
    assert.equal(err.code, ErrorCodes.USAGE)
    assert.equal(err.field, flag)
    assert.ok(err.message.startsWith(`${flag}: `), err.message)
    return true
  })
}

describe('positive and non-negative integers', () => {
  it('accepts decimal integers', () => {
    assert.equal(parsePositiveInt('1', '--threads'), 1)
    assert.equal(parsePositiveInt(' 64 ', '--threads'), 64)
    assert.equal(parsePositiveInt('+8', '--threads'), 8)
    assert.equal(parseNonNegativeInt('0', '--partition'), 0)
    assert.equal(parseNonNegativeInt('3', '--partition'), 3)
  })

  it('rejects anything else, naming the flag', () => {
    for (const bad of ['abc', '', '1.5', '1e3', '0x10', '12abc', '0', '-1', '99999999999999999999']) {
      throwsUsage(() => parsePositiveInt(bad, '--threads'), '--threads')
    }
    for (const bad of ['-1', 'x', '2.0']) {
      throwsUsage(() => parseNonNegativeInt(bad, '--partition'), '--partition')
    }
  })

  it('becomes a commander argument error without repeating the flag', () => {
    const parse = flagParser('--threads', parsePositiveInt)
    assert.equal(parse('4'), 4)
    assert.throws(
      () => parse('abc'),
      (err: unknown) => err instanceof InvalidArgumentError && err.message === "expected an integer, got 'abc'",
    )
  })
})

describe('librdkafka settings (-X)', () => {
  it('turns true/false into booleans and integer-looking values into numbers', () => {
    assert.equal(coerceKafkaValue('true'), true)
    assert.equal(coerceKafkaValue('false'), false)
    assert.equal(coerceKafkaValue('6000'), 6000)
    assert.equal(coerceKafkaValue('-1'), -1)
    assert.equal(coerceKafkaValue('1.5'), '1.5')
    assert.equal(coerceKafkaValue('earliest'), 'earliest')
    assert.equal(coerceKafkaValue('True'), 'True')
    assert.equal(coerceKafkaValue(''), '')
    assert.equal(coerceKafkaValue('99999999999999999999'), '99999999999999999999')
  })

  it('splits at the first equals sign', () => {
    assert.deepEqual(parseKafkaSetting('session.timeout.ms=6000'), ['session.timeout.ms', 6000])
    assert.deepEqual(parseKafkaSetting('sasl.jaas=a=b=c'), ['sasl.jaas', 'a=b=c'])
    assert.deepEqual(parseKafkaSetting('client.id='), ['client.id', ''])
  })

  it('rejects pairs without a key', () => {
    throwsUsage(() => parseKafkaSetting('session.timeout.ms'), '-X')
    throwsUsage(() => parseKafkaSetting('=1'), '-X')
    throwsUsage(() => parseKafkaSetting(' =1'), '-X')
  })

  it('collects repeated flags, a later key winning', () => {
    let settings = collectKafkaSetting('a=1')
    settings = collectKafkaSetting('b=true', settings)
    settings = collectKafkaSetting('a=x', settings)
    assert.deepEqual(settings, { a: 'x', b: true })
    assert.deepEqual(kafkaSettingFlag('c=2', { d: 1 }), { d: 1, c: 2 })
    assert.throws(() => kafkaSettingFlag('nope'), InvalidArgumentError)
  })
})

describe('partitioner flag', () => {
  it('parses key, header:NAME and json:a.b', () => {
    assert.equal(parsePartitioner('key'), 'key')
    assert.deepEqual(parsePartitioner('header:tenant'), { header: 'tenant' })
    assert.deepEqual(parsePartitioner('header:x:y'), { header: 'x:y' })
    assert.deepEqual(parsePartitioner('json:order.id'), { json: 'order.id' })
  })

  it('rejects unknown kinds and empty names', () => {
    for (const bad of ['', 'value', 'header', 'header:', 'json:', 'json:a..b', 'json:.a', 'protobuf:x']) {
      throwsUsage(() => parsePartitioner(bad), '--partitioner')
    }
  })
})

describe('handler paths', () => {
  it('resolves paths to file URLs and passes URLs through', () => {
    assert.equal(resolveHandler('./h.js', '/srv/app'), pathToFileURL('/srv/app/h.js').href)
    assert.equal(resolveHandler('h.js', '/srv/app'), pathToFileURL('/srv/app/h.js').href)
    assert.equal(resolveHandler('/opt/h.mjs', '/srv/app'), pathToFileURL('/opt/h.mjs').href)
    assert.equal(resolveHandler('file:///opt/h.js', '/srv/app'), 'file:///opt/h.js')
    assert.equal(resolveHandler('data:text/javascript,export default () => {}', '/'), 'data:text/javascript,export default () => {}')
    assert.equal(isUrlLike('c:'), false)
  })
})

describe('merging run flags over a config file', () => {
  const cwd = '/srv/app'
  const url = (path: string): string => pathToFileURL(path).href

  it('builds one route from flags alone', () => {
    const options = mergeRunOptions(
      {
        brokers: 'mock',
        group: 'g',
        topic: 'orders',
        handler: './handler.js',
        lanes: 8,
        distribution: 'balanced',
        partitioner: { header: 'tenant' },
        threads: 2,
        concurrencyPerThread: 16,
        handlerTimeoutMs: 500,
        maxAttempts: 3,
        deadLetterTopic: 'orders-dlq',
        payload: 'json',
        kafka: { 'session.timeout.ms': 6000 },
      },
      {},
      { cwd },
    )
    assert.deepEqual(options, {
      brokers: 'mock',
      groupId: 'g',
      threads: 2,
      concurrencyPerThread: 16,
      kafka: { 'session.timeout.ms': 6000 },
      topics: [
        {
          topic: 'orders',
          handler: url('/srv/app/handler.js'),
          virtualPartitions: { lanes: 8, distribution: 'balanced', partitioner: { header: 'tenant' } },
          handlerTimeoutMs: 500,
          retry: { maxAttempts: 3 },
          deadLetter: { topic: 'orders-dlq' },
          payload: 'json',
        },
      ],
    } satisfies EngineOptions)
  })

  it('leaves out everything not given, so the engine defaults apply', () => {
    const options = mergeRunOptions({ group: 'g', topic: 't', handler: '/h.js' }, {}, { cwd })
    assert.deepEqual(options, { groupId: 'g', topics: [{ topic: 't', handler: url('/h.js') }] })
  })

  it('requires a group, then a topic, then a handler, naming the flag', () => {
    throwsUsage(() => mergeRunOptions({ topic: 't', handler: 'h.js' }, {}, { cwd }), '--group')
    throwsUsage(() => mergeRunOptions({}, {}, { cwd }), '--group')
    throwsUsage(() => mergeRunOptions({ group: 'g', handler: 'h.js' }, {}, { cwd }), '--topic')
    throwsUsage(() => mergeRunOptions({ group: 'g', topic: 't' }, {}, { cwd }), '--handler')
  })

  const file: Partial<EngineOptions> = {
    brokers: 'kafka:9092',
    groupId: 'from-file',
    threads: 4,
    kafka: { 'session.timeout.ms': 6000, 'client.id': 'file' },
    topics: [
      { topic: 'a', handler: './a.js', virtualPartitions: { lanes: 16, partitioner: 'key' }, retry: { backoffMs: 5 } },
      { topic: 'b', handler: '/abs/b.js', virtualPartitions: false },
    ],
  }

  it("takes every route from the file, handlers resolved from the file's folder", () => {
    const options = mergeRunOptions({}, file, { cwd, configDir: '/etc/kvp' })
    assert.equal(options.groupId, 'from-file')
    assert.equal(options.brokers, 'kafka:9092')
    assert.equal(options.threads, 4)
    assert.deepEqual(
      options.topics.map((route) => route.handler),
      [url('/etc/kvp/a.js'), url('/abs/b.js')],
    )
    assert.deepEqual(options.topics[0]?.virtualPartitions, { lanes: 16, partitioner: 'key' })
    assert.equal(options.topics[1]?.virtualPartitions, false)
  })

  it('lets flags override the file; -X merges over its kafka settings', () => {
    const options = mergeRunOptions({ brokers: 'mock', group: 'g2', threads: 1, kafka: { 'client.id': 'flag' }, lanes: 4, maxAttempts: 2 }, file, { cwd, configDir: '/etc/kvp' })
    assert.equal(options.brokers, 'mock')
    assert.equal(options.groupId, 'g2')
    assert.equal(options.threads, 1)
    assert.deepEqual(options.kafka, { 'session.timeout.ms': 6000, 'client.id': 'flag' })
    // Without --topic the route flags apply to every route of the file.
    assert.deepEqual(options.topics[0]?.virtualPartitions, { lanes: 4, partitioner: 'key' })
    assert.deepEqual(options.topics[0]?.retry, { backoffMs: 5, maxAttempts: 2 })
    // ... except lane flags on a route that does not split.
    assert.equal(options.topics[1]?.virtualPartitions, false)
    assert.deepEqual(options.topics[1]?.retry, { maxAttempts: 2 })
  })

  it("-X producer.key=value sets the engine producer, merged over the file's producer section; other -X keys stay consumer settings", () => {
    const options = mergeRunOptions(
      { group: 'g', kafka: { 'client.id': 'flag', 'producer.linger.ms': 20, 'producer.compression.type': 'lz4' } },
      { ...file, producer: { 'linger.ms': 5, acks: 'all' } },
      { cwd, configDir: '/etc/kvp' },
    )
    assert.deepEqual(options.kafka, { 'session.timeout.ms': 6000, 'client.id': 'flag' })
    assert.deepEqual(options.producer, { 'linger.ms': 20, acks: 'all', 'compression.type': 'lz4' })
  })

  it("with --topic keeps only that route, built over the file's route of that name", () => {
    const a = mergeRunOptions({ topic: 'a', distribution: 'balanced' }, file, { cwd, configDir: '/etc/kvp' })
    assert.deepEqual(a.topics, [
      {
        topic: 'a',
        handler: url('/etc/kvp/a.js'),
        virtualPartitions: { lanes: 16, partitioner: 'key', distribution: 'balanced' },
        retry: { backoffMs: 5 },
      },
    ])
    const b = mergeRunOptions({ topic: 'b', lanes: 8 }, file, { cwd, configDir: '/etc/kvp' })
    assert.deepEqual(b.topics[0]?.virtualPartitions, { lanes: 8 })
    const c = mergeRunOptions({ topic: 'c', handler: 'c.js' }, file, { cwd, configDir: '/etc/kvp' })
    assert.deepEqual(c.topics, [{ topic: 'c', handler: url('/srv/app/c.js') }])
    throwsUsage(() => mergeRunOptions({ topic: 'c' }, file, { cwd }), '--handler')
  })

  it('--no-virtual-partitions turns splitting off', () => {
    const options = mergeRunOptions({ virtualPartitions: false }, file, { cwd })
    assert.deepEqual(
      options.topics.map((route) => route.virtualPartitions),
      [false, false],
    )
  })

  it("--lanes replaces the file's lane count, whichever name the file gave it", () => {
    const old = { groupId: 'g', topics: [{ topic: 'a', handler: '/a.js', virtualPartitions: { maxPartitions: 16, distribution: 'balanced' as const } }] }
    const options = mergeRunOptions({ lanes: 4 }, old, { cwd })
    assert.deepEqual(options.topics[0]?.virtualPartitions, { lanes: 4, distribution: 'balanced' })
    assert.deepEqual(old.topics[0]?.virtualPartitions, { maxPartitions: 16, distribution: 'balanced' }, 'the file options are not changed')
  })

  it('--max-partitions, the former name of --lanes, gives the lanes with one DeprecationWarning; both, differing, is a usage error', async () => {
    const warnings: Array<Error & { code?: string }> = []
    const listener = (warning: Error): void => {
      warnings.push(warning)
    }
    process.on('warning', listener)
    try {
      assert.equal(lanesFlag(undefined, 8), 8)
      assert.equal(lanesFlag(8, 8), 8)
      assert.equal(lanesFlag(4, undefined), 4)
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', listener)
    }
    assert.equal(warnings.length, 1, 'once per process')
    assert.equal(warnings[0]?.name, 'DeprecationWarning')
    assert.equal(warnings[0]?.code, 'KVP_DEP_MAX_PARTITIONS')
    assert.equal(warnings[0]?.message, '--max-partitions is deprecated: use --lanes, the same number of lanes per Kafka partition')
    throwsUsage(() => lanesFlag(4, 8), '--max-partitions')
  })

  it('never mutates the file options', () => {
    const before = JSON.stringify(file)
    mergeRunOptions({ topic: 'a', lanes: 2, maxAttempts: 1, kafka: { x: 1 } }, file, { cwd })
    mergeRunOptions({ lanes: 2, deadLetterTopic: 'd' }, file, { cwd })
    assert.equal(JSON.stringify(file), before)
  })
})

describe('backpressure flag', () => {
  it("--max-in-flight-per-partition sets backpressure.maxInFlightPerPartition and keeps the file's other limits", () => {
    const options = mergeRunOptions({ group: 'g', topic: 't', handler: '/h.js', maxInFlightPerPartition: 2000 }, { backpressure: { maxInFlightBytes: 1_000_000 } }, { cwd: '/' })
    assert.deepEqual(options.backpressure, { maxInFlightBytes: 1_000_000, maxInFlightPerPartition: 2000 })
  })
})
