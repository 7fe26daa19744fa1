/**
 * A batch librdkafka cannot decompress: the partition stops there, the fault names where,
 * and nothing past it is committed. A batch in a codec the build lacks: kvp stops and says so. Apache Kafka only: the test corrupts the partition's log
 * segment on the broker's disk (the broker serves the file as it is; consumers do not check
 * CRCs by default), which the embedded cluster has no file for.
 */
import { strict as assert } from 'node:assert'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { channels, ErrorCodes, readGroupLag, startEngine } from '../../src/index.js'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { collectEvents } from '../helpers/events.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { runArgs, runKvpToEnd } from '../helpers/process.js'
import { ensureTopic } from '../helpers/produce.js'
import { readRecords } from '../helpers/records.js'

const broker = useBroker()

/** The first segment of `topic`'s partition 0 on the project's broker (its data folder is under the temporary folder). */
function segmentOf(topic: string): string {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('kvp-apache-kafka-')) continue
    const file = join(tmpdir(), name, 'kraft-logs', `${topic}-0`, '00000000000000000000.log')
    if (existsSync(file)) return file
  }
  throw new Error(`no log segment of ${topic}-0 under ${tmpdir()}`)
}

/** The record batches of a segment: where each starts, its base offset, its record count. */
function batchesOf(segment: Buffer): Array<{ at: number; baseOffset: number; length: number; count: number }> {
  const batches: Array<{ at: number; baseOffset: number; length: number; count: number }> = []
  for (let at = 0; at + 61 <= segment.length; ) {
    const baseOffset = Number(segment.readBigInt64BE(at))
    const length = segment.readInt32BE(at + 8)
    batches.push({ at, baseOffset, length: 12 + length, count: segment.readInt32BE(at + 57) })
    at += 12 + length
  }
  return batches
}

/** Writes `count` gzip-compressed messages to partition 0 in batches of `perBatch`, each batch flushed on its own. */
async function produceBatches(topic: string, batches: number, perBatch: number): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': broker.bootstrapServers, 'compression.type': 'gzip', 'linger.ms': 1000, 'batch.num.messages': perBatch, log_level: 3 })
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
  try {
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < perBatch; i++) producer.produce(topic, 0, Buffer.from(`value ${b}:${i} ${'x'.repeat(64)}`), Buffer.from(`key-${i % 5}`))
      await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())))
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  }
}

/**
 * A fresh single-partition topic holding `batches` gzip batches of `perBatch` messages, and
 * its first log segment: where the file is, its bytes, and the batches in them.
 */
async function batchesOnDisk(prefix: string, batches: number, perBatch: number): Promise<{ topic: string; group: string; file: string; segment: Buffer; batches: ReturnType<typeof batchesOf> }> {
  const topic = uniqueName(prefix)
  const group = uniqueName('g')
  await ensureTopic(broker.bootstrapServers, topic, { partitions: 1 })
  await produceBatches(topic, batches, perBatch)
  const file = segmentOf(topic)
  const segment = readFileSync(file)
  return { topic, group, file, segment, batches: batchesOf(segment) }
}

test('a batch that cannot be decompressed stops its partition there: a KVP_CORRUPT_BATCH fault names topic, partition and offset, and nothing past it is handled or committed', {
  ...needsRealBroker,
  timeout: 90_000,
}, async (t) => {
  const { topic, group, file, segment, batches } = await batchesOnDisk('corrupt', 4, 25)
  assert.equal(batches.length, 4, 'four batches of 25 on disk')
  const bad = batches[1]
  assert.ok(bad)
  // Overwrite the middle of the second batch's compressed records (past its 61-byte header) with garbage.
  const from = bad.at + 61 + 10
  segment.fill(0xa5, from, Math.min(bad.at + bad.length - 4, from + 40))
  writeFileSync(file, segment)

  const faults = collectEvents(t, channels.fault)
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  const engine = await startEngine({ brokers: broker.bootstrapServers, groupId: group, topics: [{ topic, handler: recordingHandler }], threads: 1, fromBeginning: true })
  t.after(() => engine.stop())
  await waitFor('a corrupt-batch fault', () => engine.faults().some((f) => f.code === ErrorCodes.CORRUPT_BATCH), 30_000)
  const fault = engine.faults().find((f) => f.code === ErrorCodes.CORRUPT_BATCH)
  assert.deepEqual([fault?.topic, fault?.partition], [topic, 0])
  assert.ok(
    fault?.offset !== undefined && fault.offset >= bad.baseOffset && fault.offset < bad.baseOffset + bad.count,
    `the offset named (${fault?.offset}) is in the corrupt batch (${bad.baseOffset}..${bad.baseOffset + bad.count - 1})`,
  )
  assert.match(fault?.cause ?? '', new RegExp(`${topic}\\[0\\] at offset ${fault?.offset}`))
  assert.ok(
    faults.some((e) => e.error.code === ErrorCodes.CORRUPT_BATCH),
    'published on kvp:fault',
  )
  // Give librdkafka time to fetch past the batch: nothing from there on may be taken.
  await new Promise((resolve) => setTimeout(resolve, 2000))
  await engine.stop()
  const handled = readRecords(record)
  assert.ok(
    handled.every((r) => r.offset < bad.baseOffset),
    `handled past the corrupt batch: ${handled
      .filter((r) => r.offset >= bad.baseOffset)
      .map((r) => r.offset)
      .join(',')}`,
  )
  assert.equal(new Set(handled.map((r) => r.offset)).size, bad.baseOffset, 'every message before it was handled')
  const [row] = await readGroupLag({ bootstrapServers: broker.bootstrapServers, groupId: group, topics: [topic], timeoutMs: 10_000 })
  assert.ok((row?.committed ?? 0) <= (fault?.offset ?? 0), `committed ${row?.committed}, past the corrupt batch at ${fault?.offset}`)
  process.stdout.write(`# a corrupt batch: ${fault?.code}: ${fault?.cause}. Fix: ${fault?.fix}\n`)
})

test('a batch in a codec the build lacks stops kvp run: it exits 1 at once with KVP_CODEC naming where and the fix, and commits nothing past the batch', {
  ...needsRealBroker,
  timeout: 90_000,
}, async () => {
  const { topic, group, file, segment, batches } = await batchesOnDisk('codec', 3, 20)
  const bad = batches[1]
  assert.ok(bad)
  // The batch's attributes (an int16 21 bytes in) name its codec in the low three bits: 5 is
  // one no librdkafka build has, as zstd is to a build without it.
  const attributes = segment.readInt16BE(bad.at + 21)
  segment.writeInt16BE((attributes & ~0x7) | 0x5, bad.at + 21)
  writeFileSync(file, segment)

  const record = tempFile('handled.tsv')
  const run = await runKvpToEnd(runArgs({ brokers: broker.bootstrapServers, group, topic, handler: recordingHandler, flags: ['--stats-interval-ms', '0'] }), { KVP_TEST_RECORD: record }, 60_000)
  assert.equal(run.code, 1, run.output)
  const fatal = run.output.split('\n').find((line) => line.startsWith('kvp: fatal:')) ?? ''
  assert.match(fatal, new RegExp(`a batch of ${topic}\\[0\\] at offset ${bad.baseOffset} is compressed with a codec this build of librdkafka does not have .*Fix: reinstall kvp.*\\(KVP_CODEC\\)`))
  assert.match(run.output, /"level":50.*KVP_CODEC/, 'logged at error level')
  const handled = readRecords(record)
  assert.ok(handled.every((r) => r.offset < bad.baseOffset))
  const [row] = await readGroupLag({ bootstrapServers: broker.bootstrapServers, groupId: group, topics: [topic], timeoutMs: 10_000 })
  assert.ok((row?.committed ?? 0) <= bad.baseOffset, `committed ${row?.committed}, past the batch at ${bad.baseOffset}`)
  process.stdout.write(`# a codec the build lacks (kvp run exited 1 after ${run.ms} ms): ${fatal}\n`)
})
