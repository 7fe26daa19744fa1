/**
 * Partition states for unit tests of the parts that read them (fetch positions, the
 * transaction cycle, backpressure): made from a resolved route, filled with fetched
 * messages and brought to handled the way the engine does, through their lanes.
 */
import { strict as assert } from 'node:assert'
import type Kafka from 'node-rdkafka'
import { resolveOptions } from '../../src/config/resolve.js'
import { PartitionState } from '../../src/dispatch/partition-state.js'
import { createDistributor } from '../../src/partitioning/distributor.js'
import { createKeyExtractor } from '../../src/partitioning/partitioner.js'

/** A partition of `topic` (route settings as startEngine() takes them: `deadLetter`, `retry`, ...). */
export function partitionState(topic: string, partition: number, route: Record<string, unknown> = {}): PartitionState {
  const resolved = resolveOptions({ groupId: 'g', topics: [{ topic, handler: 'h.js', ...route }] }).routes[0]
  assert.ok(resolved)
  return new PartitionState(topic, partition, resolved, 1, createKeyExtractor('key', 'p'), createDistributor('consistent', 4))
}

/** The partition fetches messages `from` .. `from + count - 1` (keys `k0`..`k7`). */
export function fetchMessages(state: PartitionState, from: number, count: number): void {
  const messages: Kafka.Message[] = Array.from({ length: count }, (_, i) => ({
    topic: state.topic,
    partition: state.partition,
    offset: from + i,
    key: Buffer.from(`k${(from + i) % 8}`),
    value: Buffer.from('v'),
    size: 1,
  }))
  assert.equal(state.accept(messages, []), undefined)
}

/** Every message in the partition's lanes is handled; returns true when the watermark moved. */
export function handleAll(state: PartitionState): boolean {
  let moved = false
  for (const lane of state.lanes) if (lane && lane.size > 0) moved = state.sliceHandled(lane, lane.size, 0) || moved
  return moved
}
