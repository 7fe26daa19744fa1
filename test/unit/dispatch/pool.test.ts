/**
 * The worker pool with real threads: one small Piscina pool per test, with no routes (the
 * sessions never get a slice), closed in the test itself.
 */
import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { SliceProgress } from '../../../src/codec/slice-progress.js'
import { WorkerPool } from '../../../src/dispatch/pool.js'
import type { PoolEvents } from '../../../src/dispatch/pool.js'
import { waitFor } from '../../helpers/kafka.js'

/** A restart of a session that died younger than 100 ms waits 500 ms (see pool.ts). */
const RESTART_DELAY_MS = 500

function setup(threads = 1) {
  const failed: Array<{ session: number; error: unknown }> = []
  const waiters: Array<() => void> = []
  const pool = new WorkerPool({ threads, concurrencyPerThread: 4, routes: [], progress: new SliceProgress(4).buffer })
  const events: PoolEvents = {
    acks: () => {},
    sessionFailed: (session, error) => {
      failed.push({ session, error })
      for (const wake of waiters.splice(0)) wake()
    },
  }
  /** Resolves once `count` sessions have failed. */
  const failures = async (count: number): Promise<void> => {
    while (failed.length < count) await new Promise<void>((resolve) => waiters.push(resolve))
  }
  return { pool, events, failed, failures }
}

/** The ids of the live sessions: a live session with no slice in flight has room. */
function sessions(pool: WorkerPool): number[] {
  const ids: number[] = []
  for (let id = 1; id < 100; id++) if (pool.room(id) > 0) ids.push(id)
  return ids
}

/** The handles that keep the event loop alive, by kind. */
function handles(kind: string): number {
  return process.getActiveResourcesInfo().filter((name) => name === kind).length
}

/**
 * The count of a kind of handle once it has held still for 100 ms (at most 3 s): the
 * ports of a pool an earlier test closed can take a few turns to go, and counting them in
 * a baseline would make a leak look like none, or a clean close look like one too many.
 */
async function settledHandles(kind: string): Promise<number> {
  let count = handles(kind)
  let still = 0
  for (const deadline = Date.now() + 3000; still < 5 && Date.now() < deadline; ) {
    await sleep(20)
    const now = handles(kind)
    still = now === count ? still + 1 : 0
    count = now
  }
  return count
}

test('start() opens one session per thread, each with room for concurrencyPerThread slices', async () => {
  const { pool, events } = setup(2)
  pool.start(events)
  try {
    assert.deepEqual(sessions(pool), [1, 2])
    assert.equal(pool.room(1), 4)
    assert.equal(pool.room(3), 0, 'no such session')
    assert.ok([1, 2].includes(pool.pick() as number))
  } finally {
    await pool.close()
  }
})

test('an aborted session is reported and replaced by a new session', async () => {
  const { pool, events, failed, failures } = setup()
  pool.start(events)
  try {
    // Older than the short-lived limit, so the replacement starts at once.
    await sleep(200)
    const reason = new Error('handler ran past handlerTimeoutMs')
    pool.abort(1, reason)
    await failures(1)
    assert.equal(failed[0]?.session, 1)
    assert.deepEqual(sessions(pool), [2], 'a new session took its place')
    assert.equal(pool.pick(), 2)
  } finally {
    await pool.close()
  }
})

test('a session that dies at once is replaced only after a delay', async () => {
  const { pool, events, failures } = setup()
  pool.start(events)
  try {
    const died = performance.now()
    pool.abort(1, new Error('dies at once'))
    await failures(1)
    assert.deepEqual(sessions(pool), [], 'not restarted in a tight loop')
    assert.equal(pool.pick(), undefined)
    await waitFor('the replacement session', () => sessions(pool).length > 0, 10_000, 10)
    // A timer never fires early (at most by the millisecond it rounds to).
    assert.ok(performance.now() - died >= RESTART_DELAY_MS - 1, `restarted ${Math.round(performance.now() - died)} ms after the death`)
    assert.deepEqual(sessions(pool), [2])
  } finally {
    await pool.close()
  }
})

test('close() closes every session port and cancels a pending restart, leaving nothing that holds the event loop', async () => {
  const before = { ports: await settledHandles('MessagePort'), timers: await settledHandles('Timeout') }
  const { pool, events, failed, failures } = setup(2)
  pool.start(events)
  let closed = false
  try {
    pool.abort(1, new Error('dies at once'))
    await failures(1)
    assert.equal(handles('Timeout'), before.timers + 1, 'the delayed restart is waiting')
    assert.ok(handles('MessagePort') > before.ports)
    await pool.close()
    closed = true
  } finally {
    if (!closed) await pool.close()
  }
  assert.equal(await settledHandles('MessagePort'), before.ports, 'no session port left open')
  assert.equal(handles('Timeout'), before.timers, 'the restart timer was cleared')
  assert.equal(pool.pick(), undefined)
  // Timers run in the order they fall due: once this one fires, so would have the restart
  // the pool had scheduled, however loaded the machine.
  await sleep(RESTART_DELAY_MS + 100)
  assert.deepEqual(sessions(pool), [], 'no session started after close')
  assert.equal(failed.length, 1, 'sessions ended by close() are not reported as failures')
})
