/**
 * Backpressure (invariant 7): with a backlog far larger than the in-flight limits and a
 * handler slower than fetching, partitions are paused at the limits (messages per
 * partition, payload bytes in all) and resumed as they drain, so what is fetched but not
 * done stays bounded by the configuration, not by the backlog.
 */
import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'
import { channels, startEngine } from '../../src/index.js'
import type { BackpressureEvent, Engine, TopicRoute } from '../../src/index.js'
import { engineOptions, listen, setHandlerEnv } from '../helpers/engine-run.js'
import { produceMessages } from '../helpers/produce.js'
import { useBroker } from '../helpers/broker.js'
import { allMessages, committedOffsets, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { coverage, readRecords } from '../helpers/records.js'

const PARTITIONS = [0, 1, 2, 3]
const BACKLOG = 100_000
const LIMIT = 500
const BATCH = 200

let engine: Engine | undefined
after(async () => {
  await engine?.stop()
})
const cluster = useBroker()

/** The topic's route: the recording handler, 16 lanes. */
const route = (topic: string): TopicRoute => ({ topic, handler: recordingHandler, virtualPartitions: { lanes: 16 } })

test(`with a ${BACKLOG / 1000}k-message backlog and a slow handler, in-flight messages per partition never exceed maxInFlightPerPartition plus one fetch batch, and paused partitions resume`, async () => {
  const topic = uniqueName('backlog')
  const groupId = uniqueName('group')
  // The embedded cluster keeps at most 100k messages (5 MiB) per partition: 25k small ones each.
  for (const partition of PARTITIONS) {
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: BACKLOG / PARTITIONS.length, keys: 1000, size: 10, partition })
  }
  setHandlerEnv({ KVP_TEST_DELAY_MS: '5' })
  engine = await startEngine(engineOptions(cluster.bootstrapServers, groupId, route(topic), { batchSize: BATCH, backpressure: { maxInFlightPerPartition: LIMIT } }))
  const running = engine
  // What in flight was when each partition was paused, to tell how much arrived after a pause.
  const pausedAt = PARTITIONS.map(() => [] as number[])
  const onBackpressure = (event: BackpressureEvent): void => {
    if (event.topic === topic && event.paused) pausedAt[event.partition]?.push(event.inFlight)
  }
  channels.backpressure.subscribe(onBackpressure)
  await waitFor(
    'every partition assigned and fetching',
    () => {
      const partitions = running.stats().partitions
      return partitions.length === PARTITIONS.length && partitions.every((p) => p.fetched > 0)
    },
    30_000,
    20,
  )

  const maxInFlight = PARTITIONS.map(() => 0)
  const pausedSeen = PARTITIONS.map(() => false)
  const resumedAfterPause = PARTITIONS.map(() => false)
  let samples = 0
  const until = Date.now() + 4000
  while (Date.now() < until) {
    for (const p of running.stats().partitions) {
      maxInFlight[p.partition] = Math.max(maxInFlight[p.partition] as number, p.inFlight)
      if (p.paused) pausedSeen[p.partition] = true
      else if (pausedSeen[p.partition]) resumedAfterPause[p.partition] = true
    }
    samples++
    await sleep(20)
  }
  const final = running.stats()
  channels.backpressure.unsubscribe(onBackpressure)
  await running.stop()

  assert.ok(samples >= 50, `sampled often enough (${samples} samples)`)
  const bound = LIMIT + BATCH
  for (const p of PARTITIONS) {
    const pauses = pausedAt[p] as number[]
    assert.ok(
      (maxInFlight[p] as number) <= bound,
      `partition ${p}: in flight peaked at ${maxInFlight[p]}, above maxInFlightPerPartition ${LIMIT} + batchSize ${BATCH} ` +
        `(it was paused ${pauses.length} times, with ${pauses.slice(0, 5).join(', ')} in flight: messages kept arriving after the pause)`,
    )
  }
  assert.ok(pausedSeen.every(Boolean), `every partition was paused at its limit (${pausedSeen.join(',')})`)
  assert.ok(resumedAfterPause.some(Boolean), 'a paused partition was resumed')
  for (const p of final.partitions) {
    assert.ok(p.fetched > bound, `partition ${p.partition} kept fetching past one limit's worth after resuming (${p.fetched} fetched)`)
    assert.ok(p.fetched < BACKLOG / PARTITIONS.length, `partition ${p.partition} did not fetch its whole backlog at once (${p.fetched} fetched)`)
  }
})

test('with 64 KiB values and a slow handler, in-flight bytes never exceed maxInFlightBytes plus one poll (the one in flight at the pause), every partition is paused for bytes, and nothing is lost', async (t) => {
  const topic = uniqueName('bytes')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  const VALUE = 64 * 1024
  const LIMIT = 1024 * 1024
  const POLL = 4
  const PER_PARTITION = 40
  // 10 MiB in all, ten times the limit (the embedded cluster keeps 5 MiB per partition).
  for (const partition of PARTITIONS) await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: PER_PARTITION, keys: 40, size: VALUE, partition })
  setHandlerEnv({ KVP_TEST_DELAY_MS: '100', KVP_TEST_RECORD: record })
  const pauses = listen(channels.backpressure, topic)
  t.after(() => pauses.stop())
  const running = await startEngine(engineOptions(cluster.bootstrapServers, groupId, route(topic), { batchSize: POLL, backpressure: { maxInFlightBytes: LIMIT } }))
  engine = running
  const total = PER_PARTITION * PARTITIONS.length
  let peak = 0
  let samples = 0
  const deadline = Date.now() + 60_000
  while (running.stats().totals.handled < total) {
    assert.ok(Date.now() < deadline, `timed out with ${running.stats().totals.handled} of ${total} handled`)
    peak = Math.max(peak, running.stats().totals.inFlightBytes)
    samples++
    await sleep(5)
  }
  await running.stop()

  assert.ok(samples >= 50, `sampled often enough (${samples} samples)`)
  // The pause keeps room for the poll the poller has already asked for, which still lands
  // after it: at most one poll above the limit.
  const bound = LIMIT + POLL * VALUE
  assert.ok(peak >= LIMIT, `the limit was reached (peak ${peak} bytes in flight)`)
  assert.ok(peak <= bound, `in-flight bytes peaked at ${peak}, above maxInFlightBytes ${LIMIT} + one poll of ${POLL} x ${VALUE} bytes`)
  assert.ok(
    PARTITIONS.every((p) => pauses.events.some((e) => e.partition === p && e.paused)),
    'every partition was paused',
  )
  const records = readRecords(record)
  const ends = await endOffsets(cluster.bootstrapServers, topic)
  assert.deepEqual(coverage(records, allMessages(ends)).missing, [], 'nothing lost')
  assert.deepEqual(await committedOffsets(cluster.bootstrapServers, groupId, topic), ends)
})
