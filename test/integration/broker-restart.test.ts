/**
 * The broker process stops mid-stream and starts again on the same data folder and port.
 * This file owns its broker (the run's shared one must not go away under other files), so
 * it needs Apache Kafka: the embedded cluster cannot be restarted.
 */
import { strict as assert } from 'node:assert'
import { performance } from 'node:perf_hooks'
import { after, describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { channels, startEngine } from '../../src/index.js'
import type { CommitEvent, Engine, RebalanceEvent } from '../../src/index.js'
import type { ApacheKafka } from '../../tools/apache-kafka/broker.js'
import { needsRealBroker } from '../helpers/broker.js'
import { openOffsetReader, orderViolationsByRun, streamMessages } from '../helpers/group.js'
import type { OffsetReader, StreamProducer } from '../helpers/group.js'
import { allMessages, committedOffsets, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureTopic } from '../helpers/produce.js'
import { coverage, readRecords } from '../helpers/records.js'

const PARTITIONS = 4
const DOWN_MS = 4_000

/** The clock the recording handler uses. */
const now = (): number => performance.timeOrigin + performance.now()

interface Commit {
  t: number
  partition: number
  offset: number
}

let kafka: ApacheKafka | undefined
let engine: Engine | undefined
let stream: StreamProducer | undefined
let reader: OffsetReader | undefined
after(async () => {
  await stream?.stop().catch(() => {})
  // An engine whose stop() does not resolve is left behind (the broker still stops), not waited on for ever.
  await Promise.race([engine?.stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 30_000).unref())])
  await reader?.close().catch(() => {})
  await kafka?.stop()
})

describe('a broker restart', { timeout: 480_000, ...needsRealBroker }, () => {
  test('kvp keeps running while the broker stops and starts again: nothing is lost, commits resume, and a committed offset never goes backwards', { timeout: 420_000 }, async (t) => {
    await restartScenario(t)
  })
})

async function restartScenario(t: TestContext): Promise<void> {
  const { startApacheKafka } = await import('../../tools/apache-kafka/broker.js')
  kafka = await startApacheKafka({ autoCreateTopics: false })
  const bootstrap = kafka.bootstrapServers
  const topic = uniqueName('restart')
  const groupId = uniqueName('group')
  const record = tempFile('handled.tsv')
  await ensureTopic(bootstrap, topic, { partitions: PARTITIONS })

  // Every commit that reached the broker, as the engine saw it, and every assignment.
  const commits: Commit[] = []
  const assigns: Array<{ partition: number; at: number }> = []
  const onCommit = ({ offsets }: CommitEvent): void => {
    // An entry without an offset is a partition the commit did not cover.
    for (const o of offsets) if (o.topic === topic && typeof o.offset === 'number' && o.offset >= 0) commits.push({ t: now(), partition: o.partition, offset: o.offset })
  }
  const onRebalance = (event: RebalanceEvent): void => {
    if (event.kind === 'assign') for (const p of event.partitions) if (p.topic === topic) assigns.push({ partition: p.partition, at: now() })
  }
  const errors: string[] = []
  const onError = ({ error }: { error: unknown }): void => {
    errors.push(error instanceof Error ? error.message : String(error))
  }
  const unsubscribes = [channels.commit.subscribe(onCommit), channels.rebalance.subscribe(onRebalance), channels.kafkaError.subscribe(onError), channels.commitError.subscribe(onError)]
  t.after(() => {
    for (const unsubscribe of unsubscribes) unsubscribe()
  })

  process.env.KVP_TEST_RECORD = record
  process.env.KVP_TEST_DELAY_MS = '1'
  t.after(() => {
    delete process.env.KVP_TEST_RECORD
    delete process.env.KVP_TEST_DELAY_MS
  })
  engine = await startEngine({
    brokers: bootstrap,
    groupId,
    topics: [{ topic, handler: recordingHandler, virtualPartitions: { lanes: 16 } }],
    threads: 2,
    kafka: { 'session.timeout.ms': 6000, 'auto.commit.interval.ms': 200 },
  })
  stream = await streamMessages({ bootstrapServers: bootstrap, topic, ratePerSecond: 400, keys: 100 })

  // The broker's own view of the committed offsets, polled all along: it must never go back.
  reader = await openOffsetReader(bootstrap, groupId, topic, PARTITIONS)
  const seen: number[][] = []
  let polling = true
  const poll = (async () => {
    while (polling) {
      try {
        seen.push(await reader.read())
      } catch {
        // The broker is down; the next read after the restart answers.
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()

  await waitFor('messages handled and committed before the restart', () => readRecords(record).length >= 1_000 && commits.length > 0, 60_000)
  const beforeHalt = Math.max(...commits.map((c) => c.offset))
  const handledBefore = readRecords(record).length

  await kafka.halt()
  const haltedAt = now()
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS))
  await kafka.restart()
  const restartedAt = now()
  t.diagnostic(`broker down ${((restartedAt - haltedAt) / 1000).toFixed(1)} s; ${handledBefore} handled before the halt`)

  try {
    await waitFor('a commit above the last one before the halt', () => commits.some((c) => c.t > restartedAt && c.offset > beforeHalt), 60_000)
  } catch (error) {
    // Say what the engine saw, not only that it did not commit.
    const running = engine
    const partitions = running ? running.stats().partitions.map((p) => `${p.partition}: handled ${p.handled}, inFlight ${p.inFlight}, paused ${p.paused}, committed ${p.committed}`) : []
    throw new Error(
      `${(error as Error).message}; last commits ${JSON.stringify(commits.slice(-4))}; ${stream.produced} produced; partitions: ${partitions.join('; ')}; client errors: ${errors.slice(-6).join(' | ')}`,
    )
  }
  // Keep producing a while after the restart, then drain.
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  const produced = await stream.stop()
  stream = undefined

  const ends = await endOffsets(bootstrap, topic, PARTITIONS)
  assert.equal(
    ends.reduce((a, b) => a + b, 0),
    produced,
    'every produced message is in the topic',
  )
  const expected = allMessages(ends)
  await waitFor('every message handled', () => coverage(readRecords(record), expected).missing.length === 0, 90_000, 250)
  await waitFor('the committed offsets to reach the end', async () => (await committedOffsets(bootstrap, groupId, topic, PARTITIONS)).every((offset, p) => offset === ends[p]), 30_000, 250)
  polling = false
  await poll
  await engine.stop()
  engine = undefined

  const records = readRecords(record)
  const { missing, duplicates } = coverage(records, expected)
  t.diagnostic(`${produced} produced, ${records.length} handled (${duplicates.length} more than once), ${commits.length} commits, ${seen.length} offset reads`)
  assert.deepEqual(missing, [], 'no message is lost')
  assert.deepEqual(orderViolationsByRun(records, new Map([['', assigns]])), [], 'per-key order holds within each assignment')
  assert.ok(
    records.some((r) => r.start > restartedAt),
    'messages are handled after the restart',
  )

  for (let p = 0; p < PARTITIONS; p++) {
    const mine = commits.filter((c) => c.partition === p).map((c) => c.offset)
    for (let i = 1; i < mine.length; i++) assert.ok((mine[i] as number) >= (mine[i - 1] as number), `partition ${p}: commit ${mine[i]} after ${mine[i - 1]}`)
    const onBroker = seen.map((offsets) => offsets[p] as number).filter((offset) => offset >= 0)
    for (let i = 1; i < onBroker.length; i++) assert.ok((onBroker[i] as number) >= (onBroker[i - 1] as number), `partition ${p}: the broker showed ${onBroker[i]} after ${onBroker[i - 1]}`)
  }
}
