import { strict as assert } from 'node:assert'
import * as diagnosticsChannel from 'node:diagnostics_channel'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { RebalanceHandler } from '../../../src/kafka/rebalance.js'

const ASSIGN = { code: Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS } as Kafka.LibrdKafkaError
const REVOKE = { code: Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS } as Kafka.LibrdKafkaError

/**
 * A consumer that reports the rebalance protocol it is given and records the assignment
 * calls. Like node-rdkafka, it answers 'NONE' once it is no longer connected.
 */
function fakeConsumer(protocol: string) {
  const calls: string[] = []
  let connected = true
  const consumer = {
    rebalanceProtocol: () => (connected ? protocol : 'NONE'),
    isConnected: () => connected,
    assignments: () => [],
    assign: (list: Kafka.Assignment[]) => calls.push(`assign ${list.map((p) => p.partition).join(',')}`),
    unassign: () => calls.push('unassign'),
    incrementalAssign: (list: Kafka.Assignment[]) => calls.push(`incrementalAssign ${list.map((p) => p.partition).join(',')}`),
    incrementalUnassign: (list: Kafka.Assignment[]) => calls.push(`incrementalUnassign ${list.map((p) => p.partition).join(',')}`),
  }
  return { consumer: consumer as unknown as Kafka.KafkaConsumer, calls, disconnect: () => (connected = false) }
}

function handler(consumer: Kafka.KafkaConsumer): { rebalance: RebalanceHandler; failures: unknown[] } {
  const failures: unknown[] = []
  const rebalance = new RebalanceHandler({ assigned: () => {}, revoking: async () => {}, failed: (error) => failures.push(error) })
  rebalance.attach(consumer)
  return { rebalance, failures }
}

const toppars = (...partitions: number[]): Kafka.Assignment[] => partitions.map((partition) => ({ topic: 't', partition }))

test('under a cooperative protocol (cooperative-sticky, or group.protocol=consumer) partitions are assigned and revoked incrementally', async () => {
  const { consumer, calls } = fakeConsumer('COOPERATIVE')
  const { rebalance, failures } = handler(consumer)
  rebalance.callback(ASSIGN, toppars(0, 1, 2))
  rebalance.callback(REVOKE, toppars(2))
  rebalance.callback(ASSIGN, toppars())
  await rebalance.settled()
  assert.deepEqual(calls, ['incrementalAssign 0,1,2', 'incrementalUnassign 2', 'incrementalAssign '])
  assert.deepEqual(failures, [])
})

test('under an eager protocol the whole assignment is replaced', async () => {
  const { consumer, calls } = fakeConsumer('EAGER')
  const { rebalance } = handler(consumer)
  rebalance.callback(ASSIGN, toppars(0, 1))
  rebalance.callback(REVOKE, toppars(0, 1))
  await rebalance.settled()
  assert.deepEqual(calls, ['assign 0,1', 'unassign'])
})

test("the revoke that closing the consumer brings is published under the group's protocol, not the NONE a disconnecting consumer reports", async () => {
  const { consumer, disconnect } = fakeConsumer('COOPERATIVE')
  const { rebalance } = handler(consumer)
  const published: Array<{ kind: string; cooperative: boolean }> = []
  const listener = (message: unknown): void => {
    const { kind, cooperative } = message as { kind: string; cooperative: boolean }
    published.push({ kind, cooperative })
  }
  diagnosticsChannel.subscribe('kvp:rebalance', listener)
  try {
    rebalance.callback(ASSIGN, toppars(0, 1))
    await rebalance.settled()
    disconnect()
    rebalance.callback(REVOKE, toppars(0, 1))
    await rebalance.settled()
  } finally {
    diagnosticsChannel.unsubscribe('kvp:rebalance', listener)
  }
  assert.deepEqual(published, [
    { kind: 'assign', cooperative: true },
    { kind: 'revoke', cooperative: true },
  ])
})
