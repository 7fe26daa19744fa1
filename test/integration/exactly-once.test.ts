/**
 * Exactly-once output (`exactlyOnce: true`): what handlers produce and the consumed offsets
 * are committed in one Kafka transaction. Each test reads the output topic with
 * isolation.level=read_committed and checks, from the records themselves, that every
 * input's output is there once (none lost, none duplicated) in per-key order.
 */
import { strict as assert } from 'node:assert'
import { after, describe, test } from 'node:test'
import type { Engine } from '../../src/index.js'
import { DeadLetterHeaders } from '../../src/kafka/dead-letter.js'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs, freezeWithOpenTransaction, openTransactionPartitions, stableAndEndOffsets, uncommittedOnly } from '../helpers/exactly-once.js'
import { eventLogEnv, ownedPartitions, readEvents, stopProcess } from '../helpers/group.js'
import type { TransactionLogEvent } from '../helpers/group.js'
import { committedOffsets, committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { now } from '../helpers/members.js'
import { producingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, runArgs, startKvp } from '../helpers/process.js'
import type { KvpProcess } from '../helpers/process.js'
import { outputTopics, startProducingEngine } from '../helpers/producing.js'
import type { OutputTopics } from '../helpers/producing.js'
import { readPartition } from '../helpers/read-topic.js'

const cluster = useBroker()
const processes: KvpProcess[] = []
const engines: Engine[] = []
after(async () => {
  for (const proc of processes) await ensureDead(proc)
  for (const engine of engines) await engine.stop().catch(() => {})
})

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

function topics(count: number, keys = 200): Promise<OutputTopics> {
  return outputTopics(cluster.bootstrapServers, { count, keys, size: 20 })
}

/** An in-process engine in exactly-once mode over `names`, with the producing handler configured by `env`. */
async function startExactlyOnce(names: OutputTopics, env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Engine> {
  const engine = await startProducingEngine(cluster.bootstrapServers, names, {
    env,
    route: { retry: { maxAttempts: 3, backoffMs: 10 } },
    engine: { exactlyOnce: true, transactionIntervalMs: 200, ...extra },
  })
  engines.push(engine)
  return engine
}

async function untilCommitted(names: OutputTopics, ends: number[], timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'the committed offsets reach the end',
    async () => (await committedOrZero(cluster.bootstrapServers, names.groupId, names.input)).every((offset, p) => offset >= (ends[p] as number)),
    timeoutMs,
    250,
  )
}

describe('exactly-once output', { timeout: 900_000, ...needsRealBroker }, () => {
  test('with retries after producing, a read_committed reader sees every input’s output exactly once in per-key order, and the committed offsets reach the end', { timeout: 120_000 }, async () => {
    const names = await topics(3000)
    const engine = await startExactlyOnce(names, { KVP_TEST_FAIL_AFTER_PRODUCE: '7' })
    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    await untilCommitted(names, ends)
    const failures = engine.stats().totals.failures
    await engine.stop()
    assert.ok(failures > 0, 'some handler calls failed after producing')
    assert.deepEqual(await committedOffsets(cluster.bootstrapServers, names.groupId, names.input), ends)
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends)
  })

  test('kvp run --exactly-once killed with SIGKILL mid-stream and restarted with the same transactional id: each input’s output is committed exactly once, in per-key order', {
    timeout: 170_000,
  }, async () => {
    const count = 8000
    const names = await topics(count, 500)
    const args = runArgs({
      brokers: cluster.bootstrapServers,
      group: names.groupId,
      topic: names.input,
      handler: producingHandler,
      flags: ['--lanes', '8', '--threads', '2', '--max-in-flight-per-partition', '100', '--stats-interval-ms', '0'],
      kafka: ['session.timeout.ms=6000'],
    })
    args.push('--exactly-once', '--transaction-interval-ms', '200', '--transactional-id', uniqueName('kvp-eos'))
    // 4 partitions × 8 lanes at 20 ms a message: about 5 s of work, so the kill lands mid-stream.
    const env = { KVP_TEST_OUTPUT: names.output, KVP_TEST_DELAY_MS: '20' }
    const first = await startKvp(args, env)
    processes.push(first)
    await waitFor('a third of the inputs committed', async () => sum(await committedOrZero(cluster.bootstrapServers, names.groupId, names.input)) >= count / 3, 90_000, 100)
    // Killed while its transaction is open (frozen first at such a moment).
    const open = await freezeWithOpenTransaction(first, cluster.bootstrapServers, names.output)
    first.child.kill('SIGKILL')
    assert.equal(await first.exited, 'SIGKILL')
    const committedAtKill = sum(await committedOrZero(cluster.bootstrapServers, names.groupId, names.input))
    assert.ok(committedAtKill < count, 'killed mid-stream')
    // The killed process left its transaction open: its records are in the output's log, where
    // read_uncommitted sees them and read_committed does not (the last stable offset is below the end).
    assert.deepEqual(await openTransactionPartitions(cluster.bootstrapServers, names.output), open, 'the open transaction outlives the kill')
    const hidden = await uncommittedOnly(cluster.bootstrapServers, names.output, open[0] as number)
    assert.ok(hidden.length > 0, `read_uncommitted sees records of output partition ${open[0]} that read_committed does not`)

    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    const second = await startKvp(args, env)
    processes.push(second)
    await untilCommitted(names, ends, 120_000)
    second.child.kill('SIGTERM')
    assert.equal(await second.exited, 0, `clean stop on SIGTERM:\n${second.output()}`)
    // The restart (the same transactional id) aborted the open transaction: its records never became visible.
    const stillHidden = new Set((await uncommittedOnly(cluster.bootstrapServers, names.output, open[0] as number)).map((record) => record.offset))
    assert.deepEqual(
      hidden.filter((record) => !stillHidden.has(record.offset)).map((record) => record.offset),
      [],
      "the killed process's open transaction was aborted, not committed",
    )
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends)
  })

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

  test('a poison message is dead-lettered inside the transaction: its dead letter is committed once, its offset is committed with it, and it has no output', { timeout: 120_000 }, async () => {
    const names = await topics(1000)
    const engine = await startExactlyOnce(names, { KVP_TEST_POISON_OFFSET: '5' })
    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    await untilCommitted(names, ends)
    await engine.stop()
    const dead = await readPartition(cluster.bootstrapServers, names.deadLetter, 0, { isolation: 'read_committed', timeoutMs: 20_000 })
    const [, ...otherPartitions] = await endOffsets(cluster.bootstrapServers, names.deadLetter)
    assert.equal(sum(otherPartitions), 0, 'dead letters keep the source partition')
    const letters = dead.filter((record) => record.headers?.some((header) => DeadLetterHeaders.offset in header))
    assert.equal(letters.length, 1, 'one committed dead letter')
    const header = (name: string): string | undefined => letters[0]?.headers?.find((h) => name in h)?.[name]?.toString()
    assert.equal(header(DeadLetterHeaders.offset), '5')
    assert.match(header(DeadLetterHeaders.errorMessage) ?? '', /poison 0:5/)
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends, new Set(['0:5']))
  })

  test('produce errors under exactly-once (a topic that does not exist with auto-create off, an oversized record) are dead-lettered with KVP_PRODUCE, and every other output is committed exactly once', {
    timeout: 150_000,
  }, async () => {
    const names = await topics(1000)
    const engine = await startExactlyOnce(
      names,
      { KVP_TEST_LOST_OFFSET: '3', KVP_TEST_LOST_TOPIC: uniqueName('no-such-topic'), KVP_TEST_BIG_OFFSET: '8' },
      { producer: { 'message.max.bytes': 1_000_000, 'message.timeout.ms': 5000 } },
    )
    const ends = await endOffsets(cluster.bootstrapServers, names.input)
    await untilCommitted(names, ends, 120_000)
    await engine.stop()
    const dead = await readPartition(cluster.bootstrapServers, names.deadLetter, 0, { isolation: 'read_committed', timeoutMs: 20_000 })
    const offsets = dead.map((record) => record.headers?.find((h) => DeadLetterHeaders.offset in h)?.[DeadLetterHeaders.offset]?.toString()).sort()
    assert.deepEqual(offsets, ['3', '8'], 'each failed input has one committed dead letter')
    for (const record of dead) {
      const code = record.headers?.find((h) => DeadLetterHeaders.errorCode in h)?.[DeadLetterHeaders.errorCode]?.toString()
      assert.equal(code, 'KVP_PRODUCE')
    }
    assertExactlyOnce(await committedOutputs(cluster.bootstrapServers, names.output), ends, new Set(['0:3', '0:8']))
  })
})
