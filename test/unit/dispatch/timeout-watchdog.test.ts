import { strict as assert } from 'node:assert'
import { afterEach, beforeEach, mock, test } from 'node:test'
import { performance } from 'node:perf_hooks'
import { SliceProgress, progressReporter } from '../../../src/codec/slice-progress.js'
import { TimeoutWatchdog } from '../../../src/dispatch/timeout-watchdog.js'
import type { WatchedSlice } from '../../../src/dispatch/timeout-watchdog.js'
import { KvpError } from '../../../src/errors.js'

/** The watchdog looks every 100 ms and allows 1000 ms beyond a route's handlerTimeoutMs. */
const INTERVAL_MS = 100
const GRACE_MS = 1000

let now = 0

/**
 * The watchdog's interval, driven by hand. (Node 20's mock timers keep running an interval
 * that clears itself from its own callback, which is how the watchdog stops.)
 */
interface FakeInterval {
  callback: () => void
  ms: number
  cleared: boolean
  unref(): FakeInterval
}
let intervals: FakeInterval[] = []

const active = (): FakeInterval[] => intervals.filter((interval) => !interval.cleared)

beforeEach(() => {
  now = 1_000_000
  intervals = []
  mock.method(performance, 'now', () => now)
  mock.method(globalThis, 'setInterval', ((callback: () => void, ms: number) => {
    const interval: FakeInterval = { callback, ms, cleared: false, unref: () => interval }
    intervals.push(interval)
    return interval
  }) as unknown as typeof setInterval)
  mock.method(globalThis, 'clearInterval', ((interval: FakeInterval | undefined) => {
    if (interval) interval.cleared = true
  }) as unknown as typeof clearInterval)
})

afterEach(() => {
  mock.restoreAll()
})

/** Moves the clock on one interval at a time, running `eachInterval` and then the watchdog's look. */
function advance(ms: number, eachInterval: () => void = () => {}): void {
  for (let passed = 0; passed < ms; passed += INTERVAL_MS) {
    now += INTERVAL_MS
    eachInterval()
    for (const interval of active()) {
      assert.equal(interval.ms, INTERVAL_MS)
      interval.callback()
    }
  }
}

function setup() {
  const progress = new SliceProgress(8)
  // The worker's side of the shared counters.
  const report = progressReporter(progress.buffer)
  const slices = new Set<WatchedSlice>()
  const aborts: Array<{ session: number; reason: KvpError }> = []
  let looks = 0
  const watchdog = new TimeoutWatchdog(
    progress,
    () => {
      looks++
      return slices.values()
    },
    (session, reason) => aborts.push({ session, reason }),
  )
  const slice = (id: number, session: number, timeoutMs: number | undefined): WatchedSlice => {
    const s: WatchedSlice = { id, slot: progress.acquire(), session, count: 10, timeoutMs, lastProgress: 0, lastProgressAt: 0 }
    slices.add(s)
    return s
  }
  return { watchdog, report, slices, aborts, slice, looks: () => looks }
}

test('a slice that makes no progress past handlerTimeoutMs plus the grace gets its session aborted, once', () => {
  const { watchdog, aborts, slice } = setup()
  const stuck = slice(7, 3, 200)
  watchdog.sent(stuck)
  advance(200 + GRACE_MS)
  assert.equal(aborts.length, 0, 'exactly timeout + grace without progress is still allowed')
  advance(INTERVAL_MS)
  assert.equal(aborts.length, 1)
  assert.equal(aborts[0]?.session, 3)
  assert.ok(aborts[0]?.reason instanceof KvpError)
  assert.equal(aborts[0]?.reason.code, 'KVP_TIMEOUT')
  advance(5000)
  assert.equal(aborts.length, 1, 'a session is aborted once, however long the slice stays')
  assert.equal(watchdog.culprit(3), 7, 'the slice that overran')
  assert.equal(watchdog.culprit(3), undefined, 'forgotten once asked')
  watchdog.stop()
})

test('a slice whose handled count keeps moving is left alone, then aborted once it stops moving', () => {
  const { watchdog, report, aborts, slice } = setup()
  const busy = slice(1, 1, 200)
  watchdog.sent(busy)
  let handled = 0
  // One message every 1000 ms: slower than the timeout, but never stuck for timeout + grace.
  advance(10_000, () => {
    if (now % 1000 === 0) report(busy.slot, ++handled)
  })
  assert.ok(handled >= 9)
  assert.equal(aborts.length, 0, 'progress restarts the clock')
  advance(200 + GRACE_MS + INTERVAL_MS)
  assert.deepEqual(
    aborts.map((a) => a.session),
    [1],
  )
  watchdog.stop()
})

test("only the stuck slice's session is aborted; another slice on another session that progresses is not", () => {
  const { watchdog, report, aborts, slice } = setup()
  const stuck = slice(1, 1, 100)
  const moving = slice(2, 2, 100)
  watchdog.sent(stuck)
  watchdog.sent(moving)
  assert.equal(active().length, 1, 'one interval watches every slice')
  let handled = 0
  advance(3000, () => report(moving.slot, ++handled))
  assert.deepEqual(
    aborts.map((a) => a.session),
    [1],
  )
  watchdog.stop()
})

test('a slice of a route without handlerTimeoutMs is never aborted, even stuck beside one that is', () => {
  const { watchdog, aborts, slice } = setup()
  slice(1, 1, undefined)
  watchdog.sent(slice(2, 2, 100))
  advance(60_000)
  assert.deepEqual(
    aborts.map((a) => a.session),
    [2],
  )
  assert.equal(watchdog.culprit(1), undefined)
  watchdog.stop()
})

test('when only slices without a timeout are in flight, the watchdog stops looking', () => {
  const { watchdog, slices, aborts, slice, looks } = setup()
  slice(1, 1, undefined)
  const timed = slice(2, 2, 100)
  watchdog.sent(timed)
  advance(INTERVAL_MS)
  assert.equal(looks(), 1)
  slices.delete(timed)
  advance(INTERVAL_MS)
  assert.equal(looks(), 2, 'this look found nothing to watch')
  assert.equal(active().length, 0, 'the interval stopped itself')
  advance(60_000)
  assert.equal(looks(), 2)
  assert.equal(aborts.length, 0)
})

test('the watchdog starts again on the next sent() after stopping itself', () => {
  const { watchdog, slices, aborts, slice, looks } = setup()
  const first = slice(1, 1, 100)
  watchdog.sent(first)
  slices.delete(first)
  advance(INTERVAL_MS)
  assert.equal(looks(), 1)
  advance(5000)
  assert.equal(looks(), 1, 'stopped: nothing with a timeout in flight')
  const second = slice(2, 2, 100)
  watchdog.sent(second)
  assert.equal(active().length, 1)
  advance(100 + GRACE_MS + INTERVAL_MS)
  assert.deepEqual(
    aborts.map((a) => a.session),
    [2],
  )
  watchdog.stop()
})

test('the clock of a slice starts when it is sent, not when the watchdog first looks', () => {
  const { watchdog, aborts, slice } = setup()
  const early = slice(1, 1, 100)
  watchdog.sent(early)
  advance(600)
  const late = slice(2, 2, 100)
  watchdog.sent(late)
  advance(100 + GRACE_MS + INTERVAL_MS - 600)
  assert.deepEqual(
    aborts.map((a) => a.session),
    [1],
    'the later slice still has time',
  )
  advance(600)
  assert.deepEqual(
    aborts.map((a) => a.session),
    [1, 2],
  )
  watchdog.stop()
})

test('stop() ends the looks', () => {
  const { watchdog, aborts, slice, looks } = setup()
  watchdog.sent(slice(1, 1, 100))
  advance(INTERVAL_MS)
  watchdog.stop()
  assert.equal(active().length, 0)
  advance(10_000)
  assert.equal(looks(), 1)
  assert.equal(aborts.length, 0)
})
