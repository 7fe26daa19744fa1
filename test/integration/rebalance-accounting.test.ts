/**
 * In-flight accounting survives rebalances: a member holding a backlog under a small
 * global byte limit loses and regains partitions again and again; what it had queued for
 * partitions it lost must leave its in-flight byte total, or the total ratchets up until
 * the byte limit pauses every partition for good.
 */
import { strict as assert } from 'node:assert'
import { after, test } from 'node:test'
import { startEngine } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { useBroker } from '../helpers/broker.js'
import { engineOptions } from '../helpers/engine-run.js'
import { allMessages, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { produceMessages } from '../helpers/produce.js'
import { coverage, readRecords } from '../helpers/records.js'

const engines: Engine[] = []
after(async () => {
  for (const engine of engines) await engine.stop().catch(() => {})
})
const cluster = useBroker()

const CYCLES = 3
const PER_PARTITION = 600
const VALUE_BYTES = 200
const MAX_IN_FLIGHT_BYTES = 40_000

test(`after ${CYCLES} join/leave rebalances under a small maxInFlightBytes, every message is handled and the in-flight byte total returns to 0 when idle`, { timeout: 240_000 }, async () => {
  const topic = uniqueName('accounting')
  const groupId = uniqueName('group')
  for (const partition of [0, 1, 2, 3]) {
    await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: PER_PARTITION, keys: 500, size: VALUE_BYTES, partition })
  }
  const record = tempFile('handled.tsv')
  process.env.KVP_TEST_RECORD = record
  // Slow enough that the holder still has messages queued when each revoke comes.
  process.env.KVP_TEST_DELAY_MS = '40'
  const options = engineOptions(
    cluster.bootstrapServers,
    groupId,
    { topic, handler: recordingHandler, virtualPartitions: { lanes: 8 } },
    {
      // Few slices at once, each small: most fetched messages wait queued in lanes, which is
      // what a revoke must account for.
      concurrencyPerThread: 1,
      maxSliceMessages: 10,
      batchSize: 100,
      backpressure: { maxInFlightBytes: MAX_IN_FLIGHT_BYTES },
      kafka: { 'session.timeout.ms': 6000, 'auto.commit.interval.ms': 200 },
    },
  )
  const holder = await startEngine(options)
  engines.push(holder)
  await waitFor('the holder to take the backlog', () => holder.stats().totals.inFlight > 0, 30_000)

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // A second member joins: the holder loses partitions it has messages queued for...
    const joiner = await startEngine(options)
    engines.push(joiner)
    await waitFor(`the joiner to get partitions (cycle ${cycle + 1})`, () => joiner.stats().partitions.length > 0, 60_000)
    // ...and gets them back when the joiner leaves.
    await joiner.stop()
    await waitFor(`the holder to own all 4 partitions again (cycle ${cycle + 1})`, () => holder.stats().partitions.length === 4, 60_000)
  }

  const total = 4 * PER_PARTITION
  await waitFor('every message handled', () => coverage(readRecords(record), allMessages(Array(4).fill(PER_PARTITION))).missing.length === 0, 120_000, 250).catch((error: unknown) => {
    const stats = holder.stats()
    throw new Error(`${String(error)}; holder in flight: ${stats.totals.inFlight} messages, ${stats.totals.inFlightBytes} bytes, paused: ${stats.partitions.filter((p) => p.paused).length}`)
  })
  await waitFor('the holder to be idle', () => holder.stats().totals.inFlight === 0, 30_000)
  const { missing } = coverage(readRecords(record), allMessages(await endOffsets(cluster.bootstrapServers, topic)))
  assert.deepEqual(missing, [], `all ${total} messages handled`)
  assert.equal(holder.stats().totals.inFlightBytes, 0, 'nothing in flight, so no in-flight bytes')
})
