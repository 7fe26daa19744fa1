import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { resolveOptions } from '../../../src/config/resolve.js'
import { channels } from '../../../src/diagnostics.js'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { Assignments } from '../../../src/kafka/assignments.js'
import { Handover } from '../../../src/kafka/handover.js'
import type { HandoverParts } from '../../../src/kafka/handover.js'
import type { CloseOutcome } from '../../../src/kafka/transaction-cycle.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

const REVOKE_TIMEOUT_MS = 3000

/** A handover over a real registry (topic `t`), with every other part a fake that logs what it is asked. */
function setup(options: { exactlyOnce?: boolean; closing?: boolean; commitFails?: boolean } = {}) {
  const route = resolveOptions({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js' }] }).routes[0]
  assert.ok(route)
  const released: PartitionState[] = []
  const assignments = new Assignments(new Map([['t', { route, extract: createKeyExtractor('key', 'p'), newDistributor: () => createDistributor('consistent', 4) }]]), (state) => released.push(state))
  const log: string[] = []
  let stopping = false
  let generation = 3
  const parts: HandoverParts = {
    assignments,
    generation: () => generation,
    faults: {
      assigned: (topic, partition) => log.push(`faults.assigned ${topic}[${partition}]`),
      joined: () => log.push('faults.joined'),
    },
    dispatcher: {
      drain: async (timeoutMs, states = []) => {
        log.push(`drain ${timeoutMs} ${states.map((s) => `${s.partition}${s.draining ? ' draining' : ''}${s.revoked ? ' revoked' : ''}`).join(',')}`)
        return true
      },
    },
    committer: {
      commitSync: async (states, reason) => {
        log.push(`commit ${reason} ${[...states].map((s) => `${s.partition}${s.revoked ? ' revoked' : ''}`).join(',')}`)
        if (options.commitFails) throw new Error('commit failed')
        return []
      },
    },
    transactions: options.exactlyOnce
      ? {
          closing: options.closing ?? false,
          close: async (reason: string, closeOptions: { leaving?: readonly PartitionState[] } = {}): Promise<CloseOutcome> => {
            log.push(`close ${reason} ${(closeOptions.leaving ?? []).map((s) => `${s.partition}${s.revoked ? ' revoked' : ''}`).join(',')}`)
            return 'committed'
          },
        }
      : undefined,
    stopping: () => stopping,
  }
  const handover = new Handover(parts, REVOKE_TIMEOUT_MS)
  return {
    handover,
    assignments,
    released,
    log,
    stop: () => {
      stopping = true
    },
    nextGeneration: () => {
      generation++
    },
  }
}

const partitions = (...numbers: number[]) => numbers.map((partition) => ({ topic: 't', partition }))

describe('Handover', () => {
  it('assigned partitions get states of the current generation; each clears its faults, then the join clears the client ones', () => {
    const { handover, assignments, log, nextGeneration } = setup()
    nextGeneration()
    handover.assigned(partitions(0, 1))
    assert.deepEqual(
      assignments.all().map((state) => [state.partition, state.generation, state.sealedAt]),
      [
        [0, 4, undefined],
        [1, 4, undefined],
      ],
    )
    assert.deepEqual(log, ['faults.assigned t[0]', 'faults.assigned t[1]', 'faults.joined'])
  })

  it('a partition assigned while a transaction closes starts sealed, so none of its records join it', () => {
    const { handover, assignments } = setup({ exactlyOnce: true, closing: true })
    handover.assigned(partitions(0))
    assert.notEqual(assignments.lookup('t', 0)?.sealedAt, undefined)
  })

  it('at-least-once, a revoke drains the partitions, fences them, commits them, then drops them', async () => {
    const { handover, assignments, released, log } = setup()
    handover.assigned(partitions(0, 1, 2))
    log.length = 0
    await handover.revoking(partitions(2, 0, 9))
    assert.deepEqual(log, [`drain ${REVOKE_TIMEOUT_MS} 2 draining,0 draining`, 'commit revoke 2 revoked,0 revoked'])
    assert.deepEqual(
      released.map((state) => state.partition),
      [2, 0],
    )
    assert.deepEqual(
      assignments.all().map((state) => state.partition),
      [1],
    )
  })

  it('a revoke while stopping does not drain again, and still commits', async () => {
    const { handover, log, stop } = setup()
    handover.assigned(partitions(0))
    log.length = 0
    stop()
    await handover.revoking(partitions(0))
    assert.deepEqual(log, ['commit revoke 0 revoked'])
  })

  it('a commit that fails is published as a Kafka error, and the partitions go all the same', async (t) => {
    const errors: unknown[] = []
    t.after(channels.kafkaError.subscribe((event) => errors.push(event.error)))
    const { handover, assignments } = setup({ commitFails: true })
    handover.assigned(partitions(0))
    await handover.revoking(partitions(0))
    assert.equal(errors.length, 1)
    assert.match(String(errors[0]), /commit failed/)
    assert.deepEqual(assignments.all(), [])
  })

  it('exactly-once, a revoke closes the open transaction with the partitions still unfenced, then fences and drops them', async () => {
    const { handover, assignments, released, log } = setup({ exactlyOnce: true })
    handover.assigned(partitions(0, 1))
    const [first] = assignments.all()
    log.length = 0
    await handover.revoking(partitions(0))
    assert.deepEqual(log, ['close revoke 0'])
    assert.equal(first?.revoked, true)
    assert.equal(first?.draining, false, 'the transaction, not a drain, runs its sealed messages to the end')
    assert.deepEqual(released, [first])
    assert.deepEqual(
      assignments.all().map((state) => state.partition),
      [1],
    )
  })

  it('exactly-once, a revoke while stopping lets go without closing (the stop closed the last transaction)', async () => {
    const { handover, assignments, log, stop } = setup({ exactlyOnce: true })
    handover.assigned(partitions(0))
    log.length = 0
    stop()
    await handover.revoking(partitions(0))
    assert.deepEqual(log, [])
    assert.deepEqual(assignments.all(), [])
  })

  it('a revoke of partitions this member does not own does nothing', async () => {
    const { handover, log } = setup()
    await handover.revoking(partitions(4))
    assert.deepEqual(log, [])
  })
})
