import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { channels } from '../../../src/diagnostics.js'
import type { RebalanceEvent } from '../../../src/diagnostics.js'
import { RebalanceHandler } from '../../../src/kafka/rebalance.js'
import type { RebalanceListener } from '../../../src/kafka/rebalance.js'

const ASSIGN = Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS
const REVOKE = Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS

type Protocol = 'COOPERATIVE' | 'EAGER' | 'NONE'

/** One log for the listener and the consumer, so that tests can check what came first. */
type Entry = [what: string, partitions?: Kafka.Assignment[]]

function fakeConsumer(log: Entry[], protocol: Protocol) {
  const state = { connected: true, assignments: [] as Kafka.Assignment[], onUnsubscribe: () => {} }
  const consumer = {
    rebalanceProtocol: () => protocol,
    isConnected: () => state.connected,
    assignments: () => state.assignments,
    assign(partitions: Kafka.Assignment[]) {
      log.push(['assign', partitions])
    },
    incrementalAssign(partitions: Kafka.Assignment[]) {
      log.push(['incrementalAssign', partitions])
    },
    unassign() {
      log.push(['unassign'])
      state.assignments = []
    },
    incrementalUnassign(partitions: Kafka.Assignment[]) {
      log.push(['incrementalUnassign', partitions])
      state.assignments = state.assignments.filter((owned) => !partitions.some((p) => p.topic === owned.topic && p.partition === owned.partition))
    },
    unsubscribe() {
      log.push(['unsubscribe'])
      state.onUnsubscribe()
    },
  }
  return { consumer: consumer as unknown as Kafka.KafkaConsumer, state }
}

interface Deferred {
  promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A listener that logs its calls; each revoking() waits on the next of `revokes`, or resolves at once. */
function fakeListener(log: Entry[], revokes: Deferred[] = []) {
  const failures: unknown[] = []
  const listener: RebalanceListener = {
    assigned(partitions) {
      log.push(['assigned', partitions])
    },
    revoking(partitions) {
      log.push(['revoking', partitions])
      return revokes.shift()?.promise ?? Promise.resolve()
    },
    failed(error) {
      failures.push(error)
      log.push(['failed'])
    },
  }
  return { listener, failures }
}

function setup(protocol: Protocol, revokes: Deferred[] = []) {
  const log: Entry[] = []
  const { consumer, state } = fakeConsumer(log, protocol)
  const { listener, failures } = fakeListener(log, revokes)
  const handler = new RebalanceHandler(listener)
  handler.attach(consumer)
  return { log, state, failures, handler }
}

function event(code: number): Kafka.LibrdKafkaError {
  return Object.assign(new Error(`rebalance ${code}`), { code, origin: 'kafka', errno: code }) as unknown as Kafka.LibrdKafkaError
}

const tps = (...partitions: number[]): Kafka.Assignment[] => partitions.map((partition) => ({ topic: 't', partition }))

/** Lets queued promise callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('eager (and NONE): an assignment reaches the listener first, then consumer.assign()', async () => {
  for (const protocol of ['EAGER', 'NONE'] as const) {
    const { log, handler } = setup(protocol)
    handler.callback(event(ASSIGN), tps(0, 1))
    await handler.settled()
    assert.deepEqual(
      log,
      [
        ['assigned', tps(0, 1)],
        ['assign', tps(0, 1)],
      ],
      protocol,
    )
  }
})

test('cooperative: an assignment reaches the listener first, then consumer.incrementalAssign()', async () => {
  const { log, handler } = setup('COOPERATIVE')
  handler.callback(event(ASSIGN), tps(2))
  await handler.settled()
  assert.deepEqual(log, [
    ['assigned', tps(2)],
    ['incrementalAssign', tps(2)],
  ])
})

test('eager: a revoke waits for revoking() to resolve before consumer.unassign()', async () => {
  const revoke = deferred()
  const { log, handler } = setup('EAGER', [revoke])
  handler.callback(event(REVOKE), tps(0, 1))
  await turn()
  assert.deepEqual(log, [['revoking', tps(0, 1)]], 'not unassigned while the listener is still revoking')
  revoke.resolve()
  await handler.settled()
  assert.deepEqual(log, [['revoking', tps(0, 1)], ['unassign']])
})

test('cooperative: a revoke waits for revoking() to resolve before consumer.incrementalUnassign() of those partitions', async () => {
  const revoke = deferred()
  const { log, handler } = setup('COOPERATIVE', [revoke])
  handler.callback(event(REVOKE), tps(3))
  await turn()
  assert.deepEqual(log, [['revoking', tps(3)]])
  revoke.resolve()
  await handler.settled()
  assert.deepEqual(log, [
    ['revoking', tps(3)],
    ['incrementalUnassign', tps(3)],
  ])
})

test('events are handled strictly one after another: an assignment waits for a slow revoke to finish', async () => {
  const revoke = deferred()
  const { log, handler } = setup('COOPERATIVE', [revoke])
  handler.callback(event(REVOKE), tps(0))
  handler.callback(event(ASSIGN), tps(1))
  handler.callback(event(REVOKE), tps(1))
  for (let i = 0; i < 5; i++) await turn()
  assert.deepEqual(log, [['revoking', tps(0)]], 'nothing else ran while the first revoke was in progress')
  revoke.resolve()
  await handler.settled()
  assert.deepEqual(log, [
    ['revoking', tps(0)],
    ['incrementalUnassign', tps(0)],
    ['assigned', tps(1)],
    ['incrementalAssign', tps(1)],
    ['revoking', tps(1)],
    ['incrementalUnassign', tps(1)],
  ])
})

test('when revoking() rejects, the partitions are still unassigned and failed() gets the error', async () => {
  for (const protocol of ['EAGER', 'COOPERATIVE'] as const) {
    const revoke = deferred()
    const { log, failures, handler } = setup(protocol, [revoke])
    handler.callback(event(REVOKE), tps(0))
    const error = new Error('commit on revoke failed')
    revoke.reject(error)
    await handler.settled()
    const unassign: Entry = protocol === 'EAGER' ? ['unassign'] : ['incrementalUnassign', tps(0)]
    assert.deepEqual(log, [['revoking', tps(0)], unassign, ['failed']], protocol)
    assert.deepEqual(failures, [error])
    // The chain goes on after a failure.
    handler.callback(event(ASSIGN), tps(0))
    await handler.settled()
    assert.deepEqual(
      log.slice(3).map(([what]) => what),
      ['assigned', protocol === 'EAGER' ? 'assign' : 'incrementalAssign'],
    )
  }
})

test('a revoke on a consumer that is no longer connected does not unassign', async () => {
  const { log, state, handler } = setup('EAGER')
  state.connected = false
  handler.callback(event(REVOKE), tps(0))
  await handler.settled()
  assert.deepEqual(log, [['revoking', tps(0)]])
})

test('any other error code drops the whole current assignment: revoking() of it, then unassign()', async () => {
  for (const protocol of ['EAGER', 'COOPERATIVE'] as const) {
    const revoke = deferred()
    const { log, state, handler } = setup(protocol, [revoke])
    state.assignments = tps(4, 5)
    handler.callback(event(Kafka.CODES.ERRORS.ERR__STATE), tps(9))
    await turn()
    assert.deepEqual(log, [['revoking', tps(4, 5)]], `${protocol}: the consumer's assignment, not the event's`)
    revoke.resolve()
    await handler.settled()
    assert.deepEqual(log, [['revoking', tps(4, 5)], ['unassign']], protocol)
  }
})

test('the generation grows by one on each assignment, not on a revoke', async () => {
  const { handler } = setup('COOPERATIVE')
  assert.equal(handler.generation, 0)
  handler.callback(event(ASSIGN), tps(0))
  await handler.settled()
  assert.equal(handler.generation, 1)
  handler.callback(event(REVOKE), tps(0))
  await handler.settled()
  assert.equal(handler.generation, 1)
  handler.callback(event(ASSIGN), tps(0))
  handler.callback(event(ASSIGN), tps(1))
  await handler.settled()
  assert.equal(handler.generation, 3)
})

test('nothing happens before a consumer is attached', async () => {
  const log: Entry[] = []
  const { listener } = fakeListener(log)
  const handler = new RebalanceHandler(listener)
  handler.callback(event(ASSIGN), tps(0))
  await handler.settled()
  assert.deepEqual(log, [])
  assert.equal(handler.generation, 0)
})

test('kvp:rebalance events carry the kind, partitions, generation and whether the protocol is cooperative', async (t) => {
  const events: RebalanceEvent[] = []
  const unsubscribe = channels.rebalance.subscribe((e) => events.push(e))
  t.after(unsubscribe)
  const eager = setup('EAGER')
  eager.handler.callback(event(ASSIGN), tps(0, 1))
  eager.handler.callback(event(REVOKE), tps(0, 1))
  await eager.handler.settled()
  const cooperative = setup('COOPERATIVE')
  cooperative.handler.callback(event(ASSIGN), tps(2))
  cooperative.handler.callback(event(ASSIGN), tps(3))
  cooperative.handler.callback(event(REVOKE), tps(3))
  await cooperative.handler.settled()
  assert.deepEqual(events, [
    { kind: 'assign', partitions: tps(0, 1), generation: 1, cooperative: false },
    { kind: 'revoke', partitions: tps(0, 1), generation: 1, cooperative: false },
    { kind: 'assign', partitions: tps(2), generation: 1, cooperative: true },
    { kind: 'assign', partitions: tps(3), generation: 2, cooperative: true },
    { kind: 'revoke', partitions: tps(3), generation: 2, cooperative: true },
  ])
})

test('leave() unsubscribes, serves events until the revoke it brings has been handled, and resolves once nothing is assigned', async () => {
  for (const protocol of ['EAGER', 'COOPERATIVE'] as const) {
    const revoke = deferred()
    const { log, state, handler } = setup(protocol, [revoke])
    state.assignments = tps(0, 1)
    // librdkafka queues a revoke of everything, and calls the rebalance callback from inside a consume call.
    let queued = false
    state.onUnsubscribe = () => {
      queued = true
    }
    let serves = 0
    const serve = async (): Promise<void> => {
      serves++
      await new Promise((resolve) => setTimeout(resolve, 5))
      if (queued) {
        queued = false
        handler.callback(event(REVOKE), tps(0, 1))
      }
    }
    let left = false
    const leaving = handler.leave(5000, serve).then(() => {
      left = true
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(left, false, `${protocol}: still revoking`)
    revoke.resolve()
    await leaving
    const unassign: Entry = protocol === 'EAGER' ? ['unassign'] : ['incrementalUnassign', tps(0, 1)]
    assert.deepEqual(log, [['unsubscribe'], ['revoking', tps(0, 1)], unassign], protocol)
    assert.deepEqual(state.assignments, [])
    assert.equal(serves, 1, `${protocol}: served once, then waited for the revoke to finish`)
  }
})

test('leave() with nothing assigned resolves at once without serving; on a disconnected consumer it does not unsubscribe', async () => {
  const serve = (): Promise<void> => assert.fail('nothing to serve')
  const idle = setup('EAGER')
  await idle.handler.leave(5000, serve)
  assert.deepEqual(idle.log, [['unsubscribe']])
  const closed = setup('EAGER')
  closed.state.connected = false
  await closed.handler.leave(5000, serve)
  assert.deepEqual(closed.log, [])
})

test('leave() gives up after its timeout when no revoke comes', async () => {
  const { log, state, handler } = setup('EAGER')
  state.assignments = tps(3)
  const started = Date.now()
  await handler.leave(100, () => new Promise((resolve) => setTimeout(resolve, 10)))
  assert.ok(Date.now() - started >= 100, 'waited out the timeout')
  assert.deepEqual(log, [['unsubscribe']])
  assert.deepEqual(state.assignments, tps(3), 'left as it was, for close() to revoke')
})

test('leave() does not wait past its timeout for a revoke that is still draining', async () => {
  const stuck = deferred()
  const { log, handler } = setup('EAGER', [stuck])
  handler.callback(event(REVOKE), tps(1))
  let drained = false
  void handler.settled().then(() => {
    drained = true
  })
  const started = Date.now()
  await handler.leave(100, () => Promise.resolve())
  assert.ok(Date.now() - started >= 100, 'waited out the timeout')
  assert.equal(drained, false, 'gave up at the timeout: the revoke is still draining (it ends only below)')
  assert.deepEqual(log, [['unsubscribe'], ['revoking', tps(1)]])
  stuck.resolve()
  await handler.settled()
})
