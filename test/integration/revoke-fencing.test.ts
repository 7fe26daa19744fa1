/**
 * Invariant 5: an ack from a partition that was revoked is never committed.
 *
 * Member A holds one message (offset HELD of every partition) in its handler until the test
 * releases it, so the committed offset of every partition sits at HELD. Member B joins;
 * A's revoke waits revokeTimeoutMs for the held slices, gives up and lets the partitions
 * go. Only then does the test release A's handler: its acks arrive for partitions A no
 * longer owns. B holds the same message too, so until the test releases B nobody but A
 * has handled it. If A's late acks reached a commit (auto-commit, or the commit of A's
 * stop), the committed offset of a moved partition would pass HELD while B still holds it.
 */
import { strict as assert } from 'node:assert'
import * as diagnosticsChannel from 'node:diagnostics_channel'
import { writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, describe, test } from 'node:test'
import { startEngine } from '../../src/index.js'
import type { Engine } from '../../src/index.js'
import { engineOptions, setHandlerEnv } from '../helpers/engine-run.js'
import { produceMessages } from '../helpers/produce.js'
import { useBroker } from '../helpers/broker.js'
import { openOffsetReader } from '../helpers/group.js'
import type { OffsetReader } from '../helpers/group.js'
import { allMessages, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { coverage, readRecords } from '../helpers/records.js'

const HELD = 100
const PER_PARTITION = 300
const PARTITIONS = [0, 1, 2, 3]

const engines: Engine[] = []
const readers: OffsetReader[] = []
after(async () => {
  for (const engine of engines) await engine.stop().catch(() => {})
  for (const reader of readers) await reader.close().catch(() => {})
})
const cluster = useBroker()

const now = (): number => performance.timeOrigin + performance.now()

const partitionsOf = (engine: Engine): number[] => engine.stats().partitions.map((p) => p.partition)

describe('revoke fencing', () => {
  for (const strategy of ['range', 'cooperative-sticky'] as const) {
    test(`an ack that completes after its partition was revoked is never committed: the committed offset stays at the held message until its new owner handles it (${strategy})`, async () => {
      const topic = uniqueName('fence')
      const groupId = uniqueName('group')
      const record = tempFile('handled.tsv')
      const releaseA = tempFile('release-a')
      const releaseB = tempFile('release-b')
      const produce = async (count: number): Promise<void> => {
        for (const partition of PARTITIONS) await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count, keys: 30, size: 40, partition })
      }
      // The offsets below HELD first, so that the held message starts a fresh slice: a slice
      // is acked as a whole, so earlier messages sharing a slice with it would stay unacked
      // too and the watermark would not reach HELD.
      await produce(HELD)
      const stale: Array<{ t: number; partition: number }> = []
      const onStale = (message: unknown): void => {
        if ((message as { topic: string }).topic === topic) stale.push({ t: now(), partition: (message as { partition: number }).partition })
      }
      diagnosticsChannel.subscribe('kvp:stale-ack', onStale)

      const options = engineOptions(
        cluster.bootstrapServers,
        groupId,
        { topic, handler: recordingHandler, virtualPartitions: { lanes: 8 } },
        { revokeTimeoutMs: 500, kafka: { 'session.timeout.ms': 6000, 'auto.commit.interval.ms': 200, 'partition.assignment.strategy': strategy } },
      )
      const reader = await openOffsetReader(cluster.bootstrapServers, groupId, topic)
      readers.push(reader)
      try {
        setHandlerEnv({ KVP_TEST_RECORD: record, KVP_TEST_TAG: 'A', KVP_TEST_HOLD: String(HELD), KVP_TEST_HOLD_FILE: releaseA })
        const a = await startEngine(options)
        engines.push(a)
        await waitFor(`A to handle and commit the first ${HELD} offsets of every partition`, async () => (await reader.read()).every((offset) => offset === HELD), 30_000, 200)
        await produce(PER_PARTITION - HELD)
        // A takes everything else in too, but holds offset HELD: the watermark stays there.
        await waitFor('A to fetch every message', () => a.stats().partitions.every((p) => p.fetched === PER_PARTITION), 10_000)

        setHandlerEnv({ KVP_TEST_RECORD: record, KVP_TEST_TAG: 'B', KVP_TEST_HOLD: String(HELD), KVP_TEST_HOLD_FILE: releaseB })
        const b = await startEngine(options)
        engines.push(b)
        // B's share (A is alive, so B never gets everything); A let it go at the revoke.
        await waitFor('B to join and get a share of the partitions', () => partitionsOf(b).length > 0 && partitionsOf(b).length < PARTITIONS.length, 40_000, 50)
        const moved = partitionsOf(b)
        const heldBy = (tag: string, partition: number): boolean => readRecords(record).some((r) => r.tag === tag && r.partition === partition && r.offset === HELD)
        assert.ok(
          moved.every((p) => !heldBy('A', p)),
          'A was still inside the held message when its partitions were revoked',
        )

        // Watch the group's committed offsets from here on.
        const highest = PARTITIONS.map(() => -1)
        const firstPast: Array<number | undefined> = PARTITIONS.map(() => undefined)
        let watching = true
        /** When the last read of the committed offsets that has come back began. */
        let lastReadFrom = 0
        const watcher = (async () => {
          while (watching) {
            const from = now()
            const offsets = await reader.read()
            const at = now()
            offsets.forEach((offset, p) => {
              highest[p] = Math.max(highest[p] as number, offset)
              if (offset > HELD && firstPast[p] === undefined) firstPast[p] = at
            })
            lastReadFrom = from
            await sleep(100)
          }
        })()

        try {
          // A's handler finishes the held messages now: after the revoke.
          writeFileSync(releaseA, '')
          await waitFor('A to finish the held message of every moved partition', () => moved.every((p) => heldBy('A', p)), 10_000)
          await waitFor("A's acks for the moved partitions to come back (and be dropped as stale)", () => moved.every((p) => stale.some((s) => s.partition === p)), 10_000)
          // A's stop ends every way a stale ack of A could reach a commit: its auto-commits
          // (stored offsets) and its commit on stop.
          await a.stop()
          await waitFor('B to own every partition once A left', () => partitionsOf(b).length === PARTITIONS.length, 40_000, 50)
          const leftAt = now()
          await waitFor('a read of the committed offsets begun after A left', () => lastReadFrom > leftAt, 10_000, 20)

          for (const p of moved) {
            assert.ok(!heldBy('B', p), `B is still holding offset ${HELD} of partition ${p}`)
            assert.ok(
              (highest[p] as number) <= HELD,
              `partition ${p}: the committed offset reached ${highest[p]}, past offset ${HELD}, which only the member it was revoked from had handled: a stale ack was committed`,
            )
          }
        } finally {
          writeFileSync(releaseB, '')
          const ends = await endOffsets(cluster.bootstrapServers, topic)
          await waitFor(
            'B to handle everything and commit the end of every partition',
            async () => {
              const committed = await reader.read()
              return committed.every((offset, p) => offset === ends[p])
            },
            30_000,
            200,
          ).finally(() => {
            watching = false
          })
          await watcher
          const finalOffsets = await reader.read()
          finalOffsets.forEach((offset, p) => {
            if (offset > HELD && firstPast[p] === undefined) firstPast[p] = now()
          })
        }

        const records = readRecords(record)
        for (const p of moved) {
          const byB = records.find((r) => r.tag === 'B' && r.partition === p && r.offset === HELD)
          assert.ok(byB, `the new owner B handled offset ${HELD} of partition ${p}`)
          const passedAt = firstPast[p] as number
          assert.ok(passedAt >= byB.end, `partition ${p}: the committed offset passed ${HELD} only after B handled it (passed at ${passedAt.toFixed(0)}, B done at ${byB.end.toFixed(0)})`)
        }
        assert.deepEqual(coverage(records, allMessages(await endOffsets(cluster.bootstrapServers, topic))).missing, [], 'every message handled')
        await b.stop()
      } finally {
        diagnosticsChannel.unsubscribe('kvp:stale-ack', onStale)
        writeFileSync(releaseA, '')
        writeFileSync(releaseB, '')
      }
    })
  }
})
