/**
 * `npm run bench:micro`: nanoseconds per message in the main thread's hot path
 * (partitioning, offset tracking) and the wire codec. Adds a `micro` section to
 * bench/results/latest.json and regenerates docs/benchmarks.md.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Table from 'cli-table3'
import { decodeTask, decodeTaskAck, encodeTask, encodeTaskAck, type WireSlice, type WireTaskAck } from '../src/codec/slice-codec.js'
import { RecordColumnsReader, RecordColumnsWriter } from '../src/codec/record-columns.js'
import type { Message as KafkaMessage } from 'node-rdkafka'
import type { RawMessage, VirtualKey } from '../src/config/options.js'
import { OffsetTracker } from '../src/offsets/offset-tracker.js'
import { createDistributor } from '../src/partitioning/distributor.js'
import { hashKey } from '../src/partitioning/hash.js'
import { createKeyExtractor } from '../src/partitioning/partitioner.js'
import { machineInfo } from './lib/machine.js'
import { latestResultsFile, resultsDir } from './lib/paths.js'
import type { BenchResults, MicroResult, MicroResults } from './lib/results.js'
import { nsPerMessage, sink, type TimedCase } from './lib/time-per-op.js'
import { KEYS, VALUE_BYTES } from './lib/topic-fill.js'
import { writeReport } from './report.js'

/** A fetch batch about the size the poller asks for (1000), in 64 slices of 16; keys over KEYS distinct values. */
const BATCH = 1024
const LANES = 64
const SLICE = 16

const keys: Buffer[] = []
const messages: RawMessage[] = []
for (let i = 0; i < BATCH; i++) {
  const key = Buffer.from(`key-${(i * 7919) % KEYS}`)
  const value = Buffer.from(JSON.stringify({ id: i, key: key.toString(), pad: 'x'.repeat(VALUE_BYTES - 40) }))
  keys.push(key)
  messages.push({ topic: 'orders', partition: 0, offset: 1_000_000 + i, key, value, timestamp: Date.now() })
}

function batchCase(fn: () => number): TimedCase {
  return { run: () => ({ messages: BATCH, sink: fn() }) }
}

const lanesOut = new Uint32Array(BATCH)
const consistent = createDistributor('consistent', LANES)
const balanced = createDistributor('balanced', LANES)
const sticky = createDistributor('sticky', LANES)
/** The lanes sticky reads: every batch done before the next, so each key's first message in a batch finds it free (its costliest case). */
const stickyProgress = { taken: new Float64Array(LANES), done: new Float64Array(LANES) }
const byKey = createKeyExtractor('key', 'micro')
const byJson = createKeyExtractor({ json: 'key' }, 'micro')
const extracted: VirtualKey[] = new Array<VirtualKey>(BATCH)

/** Slices of SLICE messages from the batch, as the dispatcher would send them (one task = 64 slices). */
function buildTask(): { slices: WireSlice[]; records: RecordColumnsWriter } {
  const slices: WireSlice[] = []
  const records = new RecordColumnsWriter()
  for (let start = 0; start < BATCH; start += SLICE) {
    slices.push({
      id: start,
      route: 0,
      partition: 0,
      lane: (start / SLICE) % LANES,
      attempt: 1,
      slot: 0,
      first: records.add(messages as unknown as KafkaMessage[], start, SLICE),
      count: SLICE,
    })
  }
  return { slices, records }
}
function encodeAll(): { task: Uint8Array; records: Uint8Array } {
  const built = buildTask()
  return { task: encodeTask({ slices: built.slices }), records: built.records.finish() }
}
const { slices } = buildTask()
const taskBytes = encodeAll()
/** What the worker does per task before calling handlers: decode the envelope, index the records, read each field. */
function readTask(bytes: { task: Uint8Array; records: Uint8Array }): number {
  decodeTask(bytes.task)
  const records = new RecordColumnsReader(bytes.records)
  let sum = 0
  for (let r = 0; r < records.count; r++) sum += records.offset(r) + (records.key(r)?.length ?? 0) + (records.value(r)?.length ?? 0) + records.timestamp(r)
  return sum
}
const ack: WireTaskAck = {
  acks: slices.map((slice) => ({ id: slice.id, handled: SLICE, marked: 0, failed: false, errorMessage: '', errorCode: '', errorStack: '', durationMs: 17 })),
}

const cases: Array<{ name: string; note: string; timed: TimedCase }> = [
  {
    name: 'hashKey (Buffer key)',
    note: `FNV-1a + fmix32 over an ~8-byte key`,
    timed: batchCase(() => {
      let h = 0
      for (let i = 0; i < BATCH; i++) h ^= hashKey(keys[i] as Buffer)
      return h
    }),
  },
  {
    name: 'partitioner: key',
    note: `the Kafka key as the virtual key, ${BATCH}-message batch`,
    timed: batchCase(() => {
      for (let i = 0; i < BATCH; i++) extracted[i] = byKey(messages[i] as RawMessage)
      return extracted.length
    }),
  },
  {
    name: 'partitioner: json path',
    note: `JSON.parse of a ${messages[0]?.value?.length ?? 0}-byte value, then one field`,
    timed: batchCase(() => {
      for (let i = 0; i < BATCH; i++) extracted[i] = byJson(messages[i] as RawMessage)
      return extracted.length
    }),
  },
  {
    name: `consistent distributor (${LANES} lanes)`,
    note: `distribute() over a ${BATCH}-message batch, ${KEYS} keys`,
    timed: batchCase(() => {
      consistent.distribute(keys, lanesOut)
      return lanesOut[BATCH - 1] ?? 0
    }),
  },
  {
    name: `balanced distributor (${LANES} lanes)`,
    note: `distribute() over a ${BATCH}-message batch, ${KEYS} keys`,
    timed: batchCase(() => {
      balanced.distribute(keys, lanesOut)
      return lanesOut[BATCH - 1] ?? 0
    }),
  },
  {
    name: `sticky distributor (${LANES} lanes)`,
    note: `distribute() over a ${BATCH}-message batch, ${KEYS} keys, the lanes empty before each batch (every key's first message picks a lane)`,
    timed: batchCase(() => {
      sticky.distribute(keys, lanesOut, stickyProgress)
      const taken = stickyProgress.taken
      for (let i = 0; i < BATCH; i++) {
        const lane = lanesOut[i] as number
        taken[lane] = (taken[lane] as number) + 1
      }
      stickyProgress.done.set(stickyProgress.taken)
      return lanesOut[BATCH - 1] ?? 0
    }),
  },
  {
    name: 'offset tracker, in-order acks',
    note: 'register + ack + watermark per message',
    timed: trackerCase(false),
  },
  {
    name: 'offset tracker, lane-order acks',
    note: `acks arrive per lane (${LANES} lanes interleaved), watermark per ack`,
    timed: trackerCase(true),
  },
  {
    name: 'codec: encode task',
    note: `${BATCH / SLICE} slices × ${SLICE} messages: record columns + protobufjs envelope, into an owned buffer`,
    timed: batchCase(() => encodeAll().records.byteLength),
  },
  {
    name: 'codec: decode task',
    note: `the same task (${(taskBytes.task.byteLength + taskBytes.records.byteLength).toLocaleString('en-US')} bytes), in the worker`,
    timed: batchCase(() => readTask(taskBytes)),
  },
  {
    name: 'codec: encode + decode ack',
    note: `${BATCH / SLICE} slice acks, per message they cover`,
    timed: batchCase(() => decodeTaskAck(encodeTaskAck(ack)).acks.length),
  },
]

/** Offsets registered a batch at a time, acked in order or lane by lane, as the dispatcher would. */
function trackerCase(byLane: boolean): TimedCase {
  const tracker = new OffsetTracker()
  let next = 0
  const seqs = new Float64Array(BATCH)
  return {
    run() {
      for (let i = 0; i < BATCH; i++) seqs[i] = tracker.register(next++)
      let watermark = 0
      if (byLane) {
        for (let lane = 0; lane < LANES; lane++) {
          for (let i = lane; i < BATCH; i += LANES) {
            tracker.ack(seqs[i] ?? 0)
            watermark = tracker.watermark() ?? 0
          }
        }
      } else {
        for (let i = 0; i < BATCH; i++) {
          tracker.ack(seqs[i] ?? 0)
          watermark = tracker.watermark() ?? 0
        }
      }
      return { messages: BATCH, sink: watermark }
    },
  }
}

const results: MicroResult[] = []
const table = new Table({ head: ['hot path', 'ns / message', 'what'], style: { head: [], border: [] } })
for (const { name, note, timed } of cases) {
  const ns = nsPerMessage(timed)
  results.push({ name, nsPerMessage: Math.round(ns * 10) / 10, note })
  table.push([name, ns.toFixed(ns < 10 ? 1 : 0), note])
  console.error(`${name}: ${ns.toFixed(1)} ns/message`)
}
console.log(table.toString())
if (sink === 0.5) console.log('') // keeps `sink` observably used

const micro: MicroResults = { at: new Date().toISOString(), machine: machineInfo(), results }
await mkdir(resultsDir, { recursive: true })
await writeFile(join(resultsDir, `micro-${micro.at.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`), `${JSON.stringify(micro, null, 2)}\n`)
const latest = existsSync(latestResultsFile) ? (JSON.parse(await readFile(latestResultsFile, 'utf8')) as BenchResults) : null
if (latest === null) {
  console.log('\nno bench/results/latest.json yet: run `npm run bench` to include these in docs/benchmarks.md')
} else {
  latest.micro = micro
  await writeFile(latestResultsFile, `${JSON.stringify(latest, null, 2)}\n`)
  await writeReport()
  console.log('\nadded to bench/results/latest.json and docs/benchmarks.md')
}
