/**
 * Exactly-once output across handoffs between kvp run processes: a member that leaves
 * mid-stream, and a zombie (a member frozen past its session with its transaction open,
 * thawed after its partitions moved) that must be fenced.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { needsRealBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs, freezeWithOpenTransaction, stableAndEndOffsets, uncommittedOnly } from '../helpers/exactly-once.js'
import { useExactlyOnceSuite } from '../helpers/exactly-once-suite.js'
import { eventLogEnv, ownedPartitions, readEvents, stopProcess } from '../helpers/group.js'
import type { TransactionLogEvent } from '../helpers/group.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { now } from '../helpers/members.js'
import { producingHandler, tempFile } from '../helpers/paths.js'
import { startKvp } from '../helpers/process.js'
import { readPartition } from '../helpers/read-topic.js'

const { cluster, processes, topics, untilCommitted } = useExactlyOnceSuite()
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

describe('exactly-once output across handoffs', { timeout: 900_000, ...needsRealBroker }, () => {
  test('across a rebalance (two kvp run processes, one leaves mid-stream while the other takes its partitions) each input’s output is committed exactly once', { timeout: 170_000 }, async () => {
    const count = 8000
    const names = await topics(count, 500)
    const base = ['run', '--brokers', cluster.bootstrapServers, '--group', names.groupId, '--topic', names.input, '--handler', producingHandler, '--lanes', '16', '--threads', '1']
    base.push('--exactly-once', '--transaction-interval-ms', '200', '-X', 'session.timeout.ms=6000', '--stats-interval-ms', '0')
    const env = { KVP_TEST_OUTPUT: names.output, KVP_TEST_DELAY_MS: '20' }
    const staying = await startKvp([...base, '--transactional-id', uniqueName('kvp-stay')], env)
    processes.push(staying)
    const leaving = await startKvp([...base, '--transactional-id', uniqueName('kvp-leave')], env)
    processes.push(leaving)
    await waitFor('a quarter of the inputs committed', async () => sum(await committedOrZero(cluster.bootstrapServers, names.groupId, names.input)) >= count / 4, 90_000, 100)
    leaving.child.kill('SIGTERM')
    assert.equal(await leaving.exited, 0, `the leaving process stops cleanly:\n${leaving.output()}`)
    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    await untilCommitted(names, ends, 120_000)
    staying.child.kill('SIGTERM')
    assert.equal(await staying.exited, 0, `clean stop on SIGTERM:\n${staying.output()}`)
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends)
  })

  test('a zombie: a member frozen (SIGSTOP) past its session with its transaction open, whose partitions go to another member, is fenced when thawed (SIGCONT): each input’s output is committed exactly once, in per-key order', {
    timeout: 170_000,
  }, async (t) => {
    const count = 8000
    const names = await topics(count, 500)
    const base = ['run', '--brokers', cluster.bootstrapServers, '--group', names.groupId, '--topic', names.input, '--handler', producingHandler, '--lanes', '8', '--threads', '1']
    // At most 100 messages of a partition in flight, so each transaction is small and the stream lasts seconds.
    base.push('--max-in-flight-per-partition', '100')
    // The classic protocol with a 6 s session; transactions time out only after a minute, so
    // what fences the thawed member is the group (its generation is gone), not the broker's
    // transaction timeout.
    base.push('--exactly-once', '--transaction-interval-ms', '200', '-X', 'session.timeout.ms=6000', '-X', 'producer.transaction.timeout.ms=60000', '--stats-interval-ms', '0')
    const env = { KVP_TEST_OUTPUT: names.output, KVP_TEST_DELAY_MS: '20' }
    const zombieEvents = tempFile('zombie-events.jsonl')
    const heirEvents = tempFile('heir-events.jsonl')
    const zombie = await startKvp([...base, '--transactional-id', uniqueName('kvp-zombie')], { ...env, ...eventLogEnv(zombieEvents) })
    processes.push(zombie)
    await waitFor('a quarter of the inputs committed', async () => sum(await committedOrZero(cluster.bootstrapServers, names.groupId, names.input)) >= count / 4, 90_000, 100)
    const open = await freezeWithOpenTransaction(zombie, cluster.bootstrapServers, names.output, { groupId: names.groupId, topic: names.input })
    // Its open transaction's records: what read_committed cannot see yet (no other member writes).
    const hidden = (await Promise.all(open.map((p) => uncommittedOnly(cluster.bootstrapServers, names.output, p)))).flat()

    const heir = await startKvp([...base, '--transactional-id', uniqueName('kvp-heir')], { ...env, ...eventLogEnv(heirEvents) })
    processes.push(heir)
    await waitFor('the frozen member’s partitions go to the second member', () => ownedPartitions(readEvents(heirEvents), names.input).size === 4, 60_000, 100)
    const atThaw = await stableAndEndOffsets(cluster.bootstrapServers, names.output)
    for (const p of open) {
      const first = Math.min(...hidden.filter((record) => record.partition === p).map((record) => record.offset))
      assert.ok((atThaw[p]?.stable ?? Number.POSITIVE_INFINITY) <= first, `the frozen member's transaction is still open on output partition ${p} at the thaw`)
    }

    const thawedAt = now()
    zombie.child.kill('SIGCONT')
    const afterThaw = (): TransactionLogEvent[] => readEvents(zombieEvents).filter((event): event is TransactionLogEvent => event.type === 'transaction' && event.t > thawedAt)
    await waitFor('the thawed member’s transaction ends', () => afterThaw().length > 0, 30_000, 100)
    const [ending] = afterThaw()
    t.diagnostic(`the thawed member's transaction: ${ending?.outcome} on ${ending?.reason}${ending?.outcome === 'abort' ? `: ${ending.error}` : ''}`)
    assert.equal(ending?.outcome, 'abort', `the thawed member's open transaction aborts (fenced): ${JSON.stringify(afterThaw().slice(0, 3))}`)
    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    await untilCommitted(names, ends, 120_000)
    for (const member of [zombie, heir]) assert.equal(await stopProcess(member, 'SIGTERM'), 0, `clean stop on SIGTERM:\n${member.output().slice(-4000)}`)

    // What the frozen member had written in its open transaction never became visible.
    const visible = new Set<string>()
    for (const p of open) for (const record of await readPartition(cluster.bootstrapServers, names.output, p, { timeoutMs: 30_000 })) visible.add(`${p}@${record.offset}`)
    const leaked = hidden.filter((record) => visible.has(`${record.partition}@${record.offset}`)).map((record) => `${record.partition}@${record.offset}`)
    assert.deepEqual(leaked, [], "the zombie's open transaction was not committed")
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends)
  })
})
