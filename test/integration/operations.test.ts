import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { channels, HealthMonitor, startEngine } from '../../src/index.js'
import type { Engine, ProbeResult, RebalanceEvent } from '../../src/index.js'
import { serveOperations } from '../../src/ops/http-server.js'
import { listen, startScenario, untilHandled } from '../helpers/engine-run.js'
import { needsRealBroker, useBroker } from '../helpers/broker.js'
import { uniqueName, waitFor } from '../helpers/kafka.js'
import { recordingHandler, tempFile } from '../helpers/paths.js'
import { ensureDead, operationsPort, runArgs, startKvp } from '../helpers/process.js'
import { ensureTopic, produceMessages } from '../helpers/produce.js'

const cluster = useBroker()

async function probe(port: number, path: string): Promise<{ status: number; body: { ok: boolean; phase: string; reasons: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: (await res.json()) as { ok: boolean; phase: string; reasons: string[] } }
}

test('/readyz is not ready before the group is joined (read at the first assignment, before the monitor hears of it), ready once partitions are assigned, and not ready while draining', async (t) => {
  // The monitor /readyz serves, subscribed before the engine starts, and a listener
  // subscribed before the monitor: listeners run in the order they subscribed, so at the
  // engine's first assignment the listener reads readiness as it stood just before the join.
  let engine: Engine | undefined
  let atJoin: ProbeResult | undefined
  const firstAssign = (event: RebalanceEvent): void => {
    if (event.kind === 'assign' && atJoin === undefined) atJoin = monitor.readiness()
  }
  channels.rebalance.subscribe(firstAssign)
  const monitor = new HealthMonitor({ sources: { polling: () => engine?.polling ?? false, partitions: () => engine?.stats().partitions.length ?? 0 } })
  t.after(() => {
    channels.rebalance.unsubscribe(firstAssign)
    monitor.close()
  })
  const started = await startScenario({ bootstrapServers: cluster.bootstrapServers, count: 200, partition: 0 })
  engine = started.engine
  const ops = await serveOperations(started.engine, { port: 0, defaultMetrics: false })
  let stopped = false
  t.after(async () => {
    if (!stopped) await started.engine.stop()
    await ops.close()
  })
  assert.equal(ops.host, '127.0.0.1')
  await untilHandled(started.engine, 200)
  assert.ok(atJoin, 'the engine was assigned its partitions')
  assert.deepEqual([atJoin.ok, atJoin.phase, atJoin.reasons], [false, 'joining', ['waiting for the group join and a partition assignment']], 'not ready before the join')
  assert.deepEqual([monitor.readiness().ok, monitor.readiness().phase], [true, 'ready'], 'ready from the first assignment on')
  const ready = await probe(ops.port, '/readyz')
  assert.deepEqual([ready.status, ready.body.ok, ready.body.phase], [200, true, 'ready'])
  assert.equal((await probe(ops.port, '/healthz')).status, 200)
  const stopping = started.engine.stop()
  const draining = await probe(ops.port, '/readyz')
  assert.equal(draining.status, 503)
  assert.match(draining.body.phase, /draining|stopped/)
  await stopping
  stopped = true
  assert.equal((await probe(ops.port, '/readyz')).status, 503)
})

test('/healthz fails while the main thread has been blocked past the threshold, and no endpoint accepts a write', async (t) => {
  const { engine } = await startScenario({ bootstrapServers: cluster.bootstrapServers, count: 50, partition: 0 })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false, stallThresholdMs: 300, stallMemoryMs: 60_000 })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  await untilHandled(engine, 50)
  assert.equal((await probe(ops.port, '/healthz')).status, 200)
  // The test hook: this test blocks the main thread itself, as a runaway synchronous handler of the host would.
  const until = Date.now() + 1_000
  while (Date.now() < until) {}
  await new Promise((resolve) => setTimeout(resolve, 250))
  const unhealthy = await probe(ops.port, '/healthz')
  assert.equal(unhealthy.status, 503)
  assert.equal(unhealthy.body.ok, false)
  assert.match(unhealthy.body.reasons.join('; '), /event loop stalled for \d+ ms \(threshold 300 ms\)/)
  for (const method of ['POST', 'PUT', 'DELETE']) {
    assert.equal((await fetch(`http://127.0.0.1:${ops.port}/status`, { method })).status, 405, method)
  }
  const status = (await (await fetch(`http://127.0.0.1:${ops.port}/status`)).json()) as { totals: { handled: number } }
  assert.equal(status.totals.handled, 50)
})

test('/healthz fails once the worker pool has no live thread, and says so (test hook: an engine whose pool reports none alive)', async (t) => {
  const { engine } = await startScenario({ bootstrapServers: cluster.bootstrapServers, count: 20, partition: 0 })
  let poolDead = false
  // The hook: the server sees the real engine, except that its pool reports no live thread once asked to.
  const hooked: Engine = {
    bootstrapServers: engine.bootstrapServers,
    stopped: engine.stopped,
    stats: () => engine.stats(),
    stop: () => engine.stop(),
    get polling() {
      return engine.polling
    },
    workers: () => (poolDead ? { ...engine.workers(), alive: 0, threads: [] } : engine.workers()),
    get failure() {
      return engine.failure
    },
    faults: () => engine.faults(),
  }
  const ops = await serveOperations(hooked, { port: 0, defaultMetrics: false, workerGraceMs: 200 })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  await untilHandled(engine, 20)
  const alive = await probe(ops.port, '/healthz')
  assert.equal(alive.status, 200)
  const workers = (alive.body as unknown as { checks: { workers: { alive: number; configured: number } } }).checks.workers
  assert.deepEqual([workers.alive, workers.configured], [2, 2])
  poolDead = true
  await waitFor('liveness to fail', async () => (await probe(ops.port, '/healthz')).status === 503, 5000)
  const dead = await probe(ops.port, '/healthz')
  assert.match(dead.body.reasons.join('; '), /worker pool has no live thread \(of 2\) for \d+ ms/)
  // The real pool: two threads alive.
  assert.equal(engine.workers().alive, 2)
  poolDead = false
  await waitFor('liveness to recover', async () => (await probe(ops.port, '/healthz')).status === 200, 5000)
})

test('/healthz stays live while worker threads die for real on every attempt of two messages: the pool replaces each one within the grace period, and every message is handled', async (t) => {
  const crashes = listen(channels.handlerError)
  t.after(() => crashes.stop())
  const count = 100
  const { engine, topic } = await startScenario({
    bootstrapServers: cluster.bootstrapServers,
    count,
    partition: 0,
    // Each of the first 6 attempts of offsets 10 and 20 calls process.exit() in its thread.
    env: { KVP_TEST_EXIT: '10:6,20:6' },
    route: { virtualPartitions: { lanes: 4 }, retry: { backoffMs: 10, maxBackoffMs: 40 } },
  })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  const crashed = (): number => crashes.events.filter((e) => e.topic === topic && e.error.code === 'KVP_WORKER_CRASH').length
  // The pool replaces a thread at once, or after 500 ms when it lived under 100 ms: with the
  // default grace of 5 s, liveness never sees a pool with no live thread.
  const deadline = Date.now() + 60_000
  let probes = 0
  while (engine.stats().totals.handled < count || crashed() < 12) {
    const live = await probe(ops.port, '/healthz')
    probes++
    assert.equal(live.status, 200, `liveness failed while threads kept dying (${crashed()} crashes so far): ${live.body.reasons.join('; ')}`)
    assert.ok(Date.now() < deadline, `timed out with ${engine.stats().totals.handled} handled and ${crashed()} crashes`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.ok(probes >= 10, `probed throughout (${probes} probes)`)
  assert.ok(crashed() >= 12, `every attempt of both messages took its thread down (${crashed()} crashes)`)
  await waitFor('the pool back to full strength', () => engine.workers().alive === 2, 10_000)
  const live = await probe(ops.port, '/healthz')
  const workers = (live.body as unknown as { checks: { workers: { alive: number; configured: number } } }).checks.workers
  assert.deepEqual([live.status, workers.alive, workers.configured], [200, 2, 2])
})

// Apache Kafka only: which member goes without a partition follows the member ids, which
// Kafka derives from client.id and the embedded cluster does not, so there the group may
// never settle with the engine as the member left out.
test('/readyz is ready for a member that legitimately owns no partition: the group has more members than the topic has partitions', needsRealBroker, async (t) => {
  const topic = uniqueName('t')
  const groupId = uniqueName('g')
  const partitions = 1
  await ensureTopic(cluster.bootstrapServers, topic, { partitions })
  // Members whose ids sort before the engine's ('kvp-…'): the range assignor gives them the partitions first.
  const others: Kafka.KafkaConsumer[] = []
  t.after(async () => {
    for (const consumer of others) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()))
  })
  for (let i = 0; i < partitions; i++) {
    const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': cluster.bootstrapServers, 'group.id': groupId, 'client.id': `a${i}`, 'session.timeout.ms': 6000, log_level: 3 }, {})
    consumer.on('event.error', () => {})
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())))
    consumer.subscribe([topic])
    consumer.consume()
    others.push(consumer)
  }
  await waitFor('the other members to own every partition', () => others.every((c) => c.assignments().length === 1), 60_000, 100)
  const engine = await startEngine({ brokers: cluster.bootstrapServers, groupId, topics: [{ topic, handler: recordingHandler }], threads: 2, kafka: { 'session.timeout.ms': 6000 } })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  await waitFor('the engine to be ready', async () => (await probe(ops.port, '/readyz')).status === 200, 60_000, 200)
  // Settled: the rebalance that let the engine in left every partition with the others.
  await waitFor('the group to settle', () => others.every((c) => c.assignments().length === 1) && engine.stats().partitions.length === 0, 60_000, 100)
  const ready = await probe(ops.port, '/readyz')
  const checks = (ready.body as unknown as { checks: { joined: boolean; polling: boolean; partitions: number; note?: string } }).checks
  assert.deepEqual([ready.status, ready.body.phase, checks.joined, checks.polling, checks.partitions], [200, 'ready', true, true, 0])
  assert.match(checks.note ?? '', /no partitions assigned/)
  assert.equal((await probe(ops.port, '/healthz')).status, 200)
})

test('lag matches a known backlog: N messages behind while the handler is held, in /status and kvp_consumer_lag, and 0 once they are done', async (t) => {
  const count = 300
  const hold = tempFile('release')
  const { engine, topic } = await startScenario({
    bootstrapServers: cluster.bootstrapServers,
    count,
    partition: 0,
    // The first message waits on a gate (a file): the partition's committed offset cannot move past it.
    env: { KVP_TEST_HOLD: '0', KVP_TEST_HOLD_FILE: hold },
  })
  const ops = await serveOperations(engine, { port: 0, defaultMetrics: false })
  t.after(async () => {
    await engine.stop()
    await ops.close()
  })
  interface Status {
    partitions: Array<{ topic: string; partition: number; highWatermark: number | null; lag: number | null; lagSeconds: number; committed: number | null; busyLanes: number }>
    totals: { lag: number }
  }
  const status = async (): Promise<Status> => (await (await fetch(`http://127.0.0.1:${ops.port}/status`)).json()) as Status
  const metric = async (name: string): Promise<number | undefined> => {
    const text = await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${name}{topic="${topic}",partition="0"}`))
    return line === undefined ? undefined : Number(line.split(' ').pop())
  }
  await waitFor('the backlog to be fetched', async () => (await status()).partitions.find((p) => p.partition === 0)?.highWatermark === count, 30_000, 100)
  // Other lanes go on (messages of keys that share the held message's lane wait behind it).
  await waitFor('most messages done behind the held one', () => engine.stats().totals.handled >= count / 2, 30_000)
  const held = (await status()).partitions.find((p) => p.partition === 0)
  assert.ok(held)
  // Nothing past the held message is committed: at most offset 0 itself, with the offset map of what is done above it.
  assert.ok(held.committed === null || held.committed === 0, `committed ${held.committed}`)
  assert.equal(held.lag, count)
  assert.equal(await metric('kvp_consumer_lag'), count)
  assert.equal(await metric('kvp_high_watermark'), count)
  assert.ok(held.busyLanes >= 1)
  // The held message's age grows: time lag is read from its Kafka timestamp.
  const firstAge = held.lagSeconds
  assert.ok(firstAge > 0, `lagSeconds ${firstAge}`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const later = (await status()).partitions.find((p) => p.partition === 0)
  assert.ok(later && later.lagSeconds >= firstAge + 0.2, `${later?.lagSeconds} after ${firstAge}`)
  assert.ok(((await metric('kvp_consumer_lag_seconds')) ?? 0) >= firstAge)
  writeFileSync(hold, '')
  await untilHandled(engine, count)
  await waitFor('lag 0', async () => (await status()).partitions.find((p) => p.partition === 0)?.lag === 0, 30_000, 100)
  const done = (await status()).partitions.find((p) => p.partition === 0)
  assert.deepEqual([done?.committed, done?.highWatermark, done?.lag, done?.lagSeconds], [count, count, 0, 0])
  // /metrics reads a stats snapshot at most 200 ms old (src/metrics.ts): the scrape above may have taken it before the commit.
  await waitFor('kvp_consumer_lag 0', async () => (await metric('kvp_consumer_lag')) === 0, 5_000, 50)
  assert.equal((await status()).totals.lag, 0)
})

test('kvp run --http-port: /readyz turns 503 (draining) on SIGTERM while in-flight work finishes, then kvp exits 0', async (t) => {
  const topic = uniqueName('t')
  const groupId = uniqueName('g')
  const hold = tempFile('release')
  await produceMessages({ bootstrapServers: cluster.bootstrapServers, topic, count: 50, keys: 10, size: 20, partition: 0 })
  const args = runArgs({
    brokers: cluster.bootstrapServers,
    group: groupId,
    topic,
    handler: recordingHandler,
    flags: ['--http-port', '0', '--stats-interval-ms', '0'],
    kafka: ['session.timeout.ms=6000'],
  })
  const proc = await startKvp(args, { KVP_TEST_RECORD: tempFile('handled.tsv'), KVP_TEST_HOLD: '49', KVP_TEST_HOLD_FILE: hold })
  t.after(() => ensureDead(proc))
  const port = await operationsPort(proc, 10_000)
  await waitFor('readiness', async () => (await probe(port, '/readyz')).status === 200, 60_000, 100)
  // The held message (offset 49) keeps the drain waiting.
  await waitFor(
    'the held message to be running',
    async () => {
      const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { totals: { handled: number; inFlight: number } }
      return status.totals.handled >= 40 && status.totals.inFlight >= 1
    },
    30_000,
    100,
  )
  proc.child.kill('SIGTERM')
  await waitFor('readiness to end', async () => (await probe(port, '/readyz')).status === 503, 10_000, 50)
  const draining = await probe(port, '/readyz')
  assert.deepEqual([draining.status, draining.body.phase], [503, 'draining'])
  assert.match(draining.body.reasons.join(), /draining/)
  // Still alive while draining.
  assert.equal((await probe(port, '/healthz')).status, 200)
  writeFileSync(hold, '')
  assert.equal(await proc.exited, 0)
})
