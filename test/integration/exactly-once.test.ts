/**
 * Exactly-once output (`exactlyOnce: true`) in one process: what handlers produce and the
 * consumed offsets are committed in one Kafka transaction. Each test reads the output topic
 * with isolation.level=read_committed and checks, from the records themselves, that every
 * input's output is there once (none lost, none duplicated) in per-key order. Crashes and
 * handoffs between kvp run processes: ./exactly-once-crash.test.ts, ./exactly-once-handoff.test.ts.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { DeadLetterHeaders } from '../../src/kafka/dead-letter.js'
import { needsRealBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs } from '../helpers/exactly-once.js'
import { useExactlyOnceSuite } from '../helpers/exactly-once-suite.js'
import { committedOffsets, endOffsets, uniqueName } from '../helpers/kafka.js'
import { readPartition } from '../helpers/read-topic.js'

const { cluster, topics, startExactlyOnce, untilCommitted } = useExactlyOnceSuite()
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

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
