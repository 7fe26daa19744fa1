import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import type { PartitionLane } from '../../../src/dispatch/partition-state.js'
import type { PartitionState } from '../../../src/dispatch/partition-state.js'
import { Assignments } from '../../../src/kafka/assignments.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'
import type { RoutePartitioning } from '../../../src/partitioning/route-partitioning.js'

/** Routes for `topics`, each counting the distributors it hands out; a registry that logs what it releases. */
function registry(topics = ['a', 'b']) {
  const options = resolveOptions({ groupId: 'g', topics: topics.map((topic) => ({ topic, handler: 'h.js' })) })
  const made = new Map<string, number>()
  const routes = new Map<string, RoutePartitioning>()
  for (const route of options.routes) {
    routes.set(route.topic, {
      route,
      extract: createKeyExtractor('key', 'p'),
      newDistributor: () => {
        made.set(route.topic, (made.get(route.topic) ?? 0) + 1)
        return createDistributor('consistent', 4)
      },
    })
  }
  const released: PartitionState[] = []
  const assignments = new Assignments(routes, (state) => released.push(state))
  return { assignments, released, made }
}

function messages(topic: string, partition: number, from: number, count: number): Kafka.Message[] {
  return Array.from({ length: count }, (_, i) => ({ topic, partition, offset: from + i, key: null, value: Buffer.alloc(10), size: 10 }))
}

const names = (states: readonly PartitionState[]): string[] => states.map((state) => `${state.topic}[${state.partition}]`)

describe('Assignments', () => {
  it('gives each assigned partition of a routed topic a fresh state of the generation, and skips other topics', () => {
    const { assignments, made } = registry()
    const added = assignments.assigned(
      [
        { topic: 'a', partition: 0 },
        { topic: 'b', partition: 3 },
        { topic: 'other', partition: 0 },
      ],
      7,
    )
    assert.deepEqual(names(added), ['a[0]', 'b[3]'])
    assert.deepEqual(
      added.map((state) => state.generation),
      [7, 7],
    )
    assert.equal(assignments.lookup('a', 0), added[0])
    assert.equal(assignments.lookup('b', 3), added[1])
    assert.equal(assignments.lookup('other', 0), undefined)
    assert.equal(assignments.lookup('a', 1), undefined)
    assert.deepEqual(names(assignments.all()), ['a[0]', 'b[3]'])
    assert.deepEqual(
      [...made],
      [
        ['a', 1],
        ['b', 1],
      ],
    )
  })

  it('replaces a partition assigned again: the state left from before is fenced and released', () => {
    const { assignments, released } = registry()
    const [first] = assignments.assigned([{ topic: 'a', partition: 0 }], 1)
    const [second] = assignments.assigned([{ topic: 'a', partition: 0 }], 2)
    assert.ok(first && second)
    assert.notEqual(first, second)
    assert.equal(first.revoked, true)
    assert.equal(second.revoked, false)
    assert.deepEqual(released, [first])
    assert.equal(assignments.lookup('a', 0), second)
    assert.deepEqual(assignments.all(), [second])
  })

  it('owned lists the states of those partitions this member owns, in their order', () => {
    const { assignments } = registry()
    assignments.assigned(
      [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 1 },
        { topic: 'b', partition: 0 },
      ],
      1,
    )
    const owned = assignments.owned([
      { topic: 'b', partition: 0 },
      { topic: 'a', partition: 5 },
      { topic: 'other', partition: 0 },
      { topic: 'a', partition: 1 },
    ])
    assert.deepEqual(names(owned), ['b[0]', 'a[1]'])
    assert.ok(
      owned.every((state) => !state.revoked),
      'owned changes nothing',
    )
  })

  it('revoked fences, releases and drops each state, but never a newer state of the same partition', () => {
    const { assignments, released } = registry()
    const [a0, a1] = assignments.assigned(
      [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 1 },
      ],
      1,
    )
    assert.ok(a0 && a1)
    // a[1] is assigned afresh before the revoke of its old state is done.
    const [newer] = assignments.assigned([{ topic: 'a', partition: 1 }], 2)
    released.length = 0
    assignments.revoked([a0, a1])
    assert.equal(a0.revoked, true)
    assert.deepEqual(released, [a0, a1])
    assert.equal(assignments.lookup('a', 0), undefined)
    assert.equal(assignments.lookup('a', 1), newer)
    assert.deepEqual(assignments.all(), [newer])
  })

  it('restarted replaces a current state with a fresh one of the same generation, and only a current one', () => {
    const { assignments, released, made } = registry()
    const [state] = assignments.assigned([{ topic: 'a', partition: 2 }], 4)
    assert.ok(state)
    const fresh = assignments.restarted(state)
    assert.ok(fresh)
    assert.notEqual(fresh, state)
    assert.equal(fresh.generation, 4)
    assert.equal(state.revoked, true)
    assert.deepEqual(released, [state])
    assert.equal(assignments.lookup('a', 2), fresh)
    assert.equal(made.get('a'), 2, 'the fresh state has a distributor of its own')

    // A state that is no longer current is still fenced and released, and nothing replaces it.
    const stale = state
    assert.equal(assignments.restarted(stale), undefined)
    assert.equal(assignments.lookup('a', 2), fresh)
    assert.equal(released.length, 2)
  })

  it('derives its totals from the partitions it owns, so what a revoked partition held leaves them', () => {
    const { assignments } = registry()
    const [a0, b0] = assignments.assigned(
      [
        { topic: 'a', partition: 0 },
        { topic: 'b', partition: 0 },
      ],
      1,
    )
    assert.ok(a0 && b0)
    const touched: PartitionLane[] = []
    a0.accept(messages('a', 0, 0, 3), touched)
    b0.accept(messages('b', 0, 100, 2), touched)
    assert.equal(assignments.inFlight, 5)
    assert.equal(assignments.bytes, 50)
    assignments.revoked([a0])
    assert.equal(assignments.inFlight, 2)
    assert.equal(assignments.bytes, 20)
  })
})
