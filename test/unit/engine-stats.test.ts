import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../src/config/resolve.js'
import type { PartitionLane } from '../../src/dispatch/partition-state.js'
import { PartitionState } from '../../src/dispatch/partition-state.js'
import { engineStats } from '../../src/engine-stats.js'
import type { StatsSources } from '../../src/engine-stats.js'
import { createDistributor } from '../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../src/partitioning/partitioner.js'

const route = resolveOptions({ groupId: 'g', topics: [{ topic: 'a', handler: 'h.js' }] }).routes[0]

/** A partition state that has fetched `count` messages of 10 bytes each from offset 0. */
function fetched(topic: string, partition: number, count: number): PartitionState {
  assert.ok(route)
  const state = new PartitionState(topic, partition, route, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 4))
  const messages: Kafka.Message[] = Array.from({ length: count }, (_, offset) => ({ topic, partition, offset, key: `k${offset}`, value: Buffer.alloc(10), size: 10, timestamp: 1_000 }))
  const touched: PartitionLane[] = []
  state.accept(messages, touched)
  return state
}

function sources(highWatermarks: Map<PartitionState, number> = new Map()): StatsSources {
  return { slicesInFlight: 3, commits: 12, generation: 5, highWatermark: (state) => highWatermarks.get(state) }
}

describe('engineStats', () => {
  it('has one line per partition, sorted by topic then partition, and totals over them', () => {
    const b0 = fetched('b', 0, 2)
    const a2 = fetched('a', 2, 3)
    const a1 = fetched('a', 1, 4)
    const stats = engineStats([b0, a2, a1], sources(new Map([[a1, 10]])), 2_000)
    assert.deepEqual(
      stats.partitions.map((line) => `${line.topic}[${line.partition}]`),
      ['a[1]', 'a[2]', 'b[0]'],
    )
    assert.deepEqual(stats.totals, { fetched: 9, handled: 0, inFlight: 9, inFlightBytes: 90, slicesInFlight: 3, failures: 0, deadLettered: 0, skippedDone: 0, commits: 12, lag: 10 })
    assert.equal(stats.generation, 5)
    assert.equal(stats.partitions[0]?.highWatermark, 10)
    assert.equal(stats.partitions[0]?.lag, 10, 'nothing committed: lag from the first fetched offset')
    assert.equal(stats.partitions[1]?.highWatermark, null, 'a high watermark not known yet')
    assert.equal(stats.partitions[0]?.lagSeconds, 1)
  })

  it('with no partitions it reads only the sources', () => {
    const stats = engineStats([], sources())
    assert.deepEqual(stats, {
      partitions: [],
      totals: { fetched: 0, handled: 0, inFlight: 0, inFlightBytes: 0, slicesInFlight: 3, failures: 0, deadLettered: 0, skippedDone: 0, commits: 12, lag: 0 },
      generation: 5,
    })
  })
})
