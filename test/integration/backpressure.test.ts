/**
 * Backpressure: with a backlog far larger than the in-flight limit and a handler slower
 * than fetching, each partition is paused at its limit and resumed as it drains, so what
 * is fetched but not done stays bounded by the configuration, not by the backlog.
 */
import { strict as assert } from 'node:assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test } from 'node:test'
import { channels, startEngine } from '../../src/index.js'
import type { BackpressureEvent, Engine } from '../../src/index.js'
import { produceMessages } from '../helpers/produce.js'
import { useBroker } from '../helpers/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler } from '../helpers/paths.js'

const PARTITIONS = [0, 1, 2, 3]
const BACKLOG = 100_000
const LIMIT = 500
const BATCH = 200

let engine: Engine | undefined
after(async () => {
  await engine?.stop()
})
const cluster = useBroker()

test(`with a ${BACKLOG / 1000}k-message backlog and a slow handler, in-flight messages per partition never exceed maxInFlightPerPartition plus one fetch batch, and paused partitions resume`, async () => {
  const topic = uniqueName('backlog')
  const groupId = uniqueName('group')
  // The embedded cluster keeps at most 100k messages (5 MiB) per partition: 25k small ones each.
  for (const partition of PARTITIONS) {
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: BACKLOG / PARTITIONS.length, keys: 1000, size: 10, partition })
  }
  for (const name of Object.keys(process.env)) if (name.startsWith('KVP_TEST_')) delete process.env[name]
  process.env.KVP_TEST_DELAY_MS = '5'
  engine = await startEngine({
    brokers: cluster.bootstrapServers,
    groupId,
    topics: [{ topic, handler: recordingHandler, virtualPartitions: { maxPartitions: 16 } }],
    threads: 2,
    batchSize: BATCH,
    backpressure: { maxInFlightPerPartition: LIMIT },
    kafka: { 'session.timeout.ms': 6000 },
  })
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
