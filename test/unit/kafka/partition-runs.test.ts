import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../../src/config/resolve.js'
import { PartitionState } from '../../../src/dispatch/partition-state.js'
import { forEachPartitionRun } from '../../../src/kafka/partition-runs.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../../src/partitioning/partitioner.js'

const route = resolveOptions({ groupId: 'g', topics: [{ topic: 'a', handler: 'h.js' }] }).routes[0]

function state(topic: string, partition: number): PartitionState {
  assert.ok(route)
  return new PartitionState(topic, partition, route, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 4))
}

const message = (topic: string, partition: number, offset: number): Kafka.Message => ({ topic, partition, offset, key: null, value: Buffer.from('v'), size: 1 })

/** Runs `batch` over the owned `states`, returning what each callback heard, in order. */
function split(batch: Kafka.Message[], states: PartitionState[]): string[] {
  const heard: string[] = []
  forEachPartitionRun(batch, {
    lookup: (topic, partition) => states.find((s) => s.topic === topic && s.partition === partition),
    run: (s, messages) => heard.push(`run ${s.topic}[${s.partition}] ${messages.map((m) => m.offset).join(',')}`),
    started: (topic) => heard.push(`started ${topic}`),
  })
  return heard
}

describe('forEachPartitionRun', () => {
  it('hands on each run of one partition in offset order, one call per run', () => {
    const heard = split([message('a', 0, 1), message('a', 0, 2), message('a', 1, 7), message('a', 0, 3), message('b', 0, 5)], [state('a', 0), state('a', 1), state('b', 0)])
    assert.deepEqual(heard, ['started a', 'run a[0] 1,2', 'started a', 'run a[1] 7', 'started a', 'run a[0] 3', 'started b', 'run b[0] 5'])
  })

  it('leaves messages of partitions this member does not own for their owner, but still hears that their topic arrived', () => {
    const heard = split([message('a', 0, 1), message('a', 9, 1), message('other', 0, 4)], [state('a', 0)])
    assert.deepEqual(heard, ['started a', 'run a[0] 1', 'started a', 'started other'])
  })

  it('takes no message at or past the offset a partition stopped at', () => {
    const stopped = state('a', 0)
    stopped.stopAt(3)
    const heard = split([message('a', 0, 1), message('a', 0, 2), message('a', 0, 3), message('a', 0, 4)], [stopped])
    assert.deepEqual(heard, ['started a', 'run a[0] 1,2'])
    assert.deepEqual(split([message('a', 0, 5)], [stopped]), ['started a'], 'an empty run is not handed on')
  })

  it('does nothing for an empty batch', () => {
    assert.deepEqual(split([], [state('a', 0)]), [])
  })
})
