/**
 * Exactly-once output through a SIGKILL: the killed process leaves its transaction open,
 * and its restart with the same transactional id fences it; a read_committed reader sees
 * every input's output once, in per-key order.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { needsRealBroker } from '../helpers/broker.js'
import { assertExactlyOnce, committedOutputs, freezeWithOpenTransaction, openTransactionPartitions, uncommittedOnly } from '../helpers/exactly-once.js'
import { useExactlyOnceSuite } from '../helpers/exactly-once-suite.js'
import { committedOrZero, endOffsets, uniqueName, waitFor } from '../helpers/kafka.js'
import { producingHandler } from '../helpers/paths.js'
import { runArgs, startKvp } from '../helpers/process.js'

const { cluster, processes, topics, untilCommitted } = useExactlyOnceSuite()
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0)

describe('exactly-once output through a crash', { timeout: 900_000, ...needsRealBroker }, () => {
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
})
