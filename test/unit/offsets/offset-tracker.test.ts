import { strict as assert } from 'node:assert'
import { describe, it, test } from 'node:test'
import { KvpError } from '../../../src/errors.js'
import { OffsetTracker } from '../../../src/offsets/offset-tracker.js'
import { random } from '../../helpers/random.js'

/** A deterministic PRNG (mulberry32), so a failing run can be replayed. */

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}

describe('OffsetTracker', () => {
  it('reports no watermark before anything is registered', () => {
    const tracker = new OffsetTracker()
    assert.equal(tracker.watermark(), undefined)
    assert.equal(tracker.lastRegistered, undefined)
    assert.equal(tracker.pending, 0)
    assert.equal(tracker.ack(0), false)
    assert.equal(tracker.offsetOf(0), undefined)
  })

  it('hands out sequence numbers 0, 1, 2, ... and holds the watermark at the first pending offset', () => {
    const tracker = new OffsetTracker()
    assert.equal(tracker.register(10), 0)
    assert.equal(tracker.register(11), 1)
    assert.equal(tracker.register(12), 2)
    assert.equal(tracker.watermark(), 10)
    assert.equal(tracker.pending, 3)
    assert.equal(tracker.lastRegistered, 12)
    assert.equal(tracker.offsetOf(1), 11)
  })

  it('moves the watermark with in-order acks, to last + 1 once everything is acked', () => {
    const tracker = new OffsetTracker()
    for (let offset = 100; offset < 105; offset++) tracker.register(offset)
    for (let seq = 0; seq < 5; seq++) {
      assert.equal(tracker.ack(seq), true)
      assert.equal(tracker.watermark(), 101 + seq)
      assert.equal(tracker.pending, 4 - seq)
    }
    assert.equal(tracker.watermark(), 105)
  })

  it('keeps the watermark at the lowest unacked offset under out-of-order acks', () => {
    const tracker = new OffsetTracker()
    for (let offset = 0; offset < 6; offset++) tracker.register(offset)
    assert.equal(tracker.ack(3), false)
    assert.equal(tracker.ack(1), false)
    assert.equal(tracker.ack(5), false)
    assert.equal(tracker.watermark(), 0)
    assert.equal(tracker.pending, 3)
    assert.equal(tracker.ack(0), true)
    assert.equal(tracker.watermark(), 2)
    assert.equal(tracker.ack(2), true)
    assert.equal(tracker.watermark(), 4)
    assert.equal(tracker.ack(4), true)
    assert.equal(tracker.watermark(), 6)
    assert.equal(tracker.pending, 0)
  })

  it('jumps over gaps in offsets (compaction, transaction markers)', () => {
    const tracker = new OffsetTracker()
    const a = tracker.register(5)
    const b = tracker.register(9)
    const c = tracker.register(20)
    assert.equal(tracker.watermark(), 5)
    tracker.ack(a)
    assert.equal(tracker.watermark(), 9)
    tracker.ack(c)
    assert.equal(tracker.watermark(), 9)
    tracker.ack(b)
    assert.equal(tracker.watermark(), 21)
    tracker.register(40)
    assert.equal(tracker.watermark(), 40)
  })

  it('ignores duplicate acks, acks of released seqs and acks of unknown seqs', () => {
    const tracker = new OffsetTracker()
    tracker.register(0)
    tracker.register(1)
    tracker.register(2)
    assert.equal(tracker.ack(1), false)
    assert.equal(tracker.ack(1), false, 'a second ack of a pending-behind seq')
    assert.equal(tracker.pending, 2)
    assert.equal(tracker.ack(0), true)
    assert.equal(tracker.ack(0), false, 'an ack of a released seq')
    assert.equal(tracker.ack(1), false, 'an ack of a released seq')
    assert.equal(tracker.ack(3), false, 'a seq not handed out yet')
    assert.equal(tracker.ack(-1), false)
    assert.equal(tracker.ack(1.5), false)
    assert.equal(tracker.ack(Number.NaN), false)
    assert.equal(tracker.ack(Number.POSITIVE_INFINITY), false)
    assert.equal(tracker.pending, 1)
    assert.equal(tracker.watermark(), 2)
    assert.equal(tracker.ack(2), true)
    assert.equal(tracker.watermark(), 3)
    assert.equal(tracker.pending, 0)
  })

  it('answers offsetOf for live seqs only, acked ones included until released', () => {
    const tracker = new OffsetTracker()
    tracker.register(7)
    tracker.register(8)
    tracker.ack(1)
    assert.equal(tracker.offsetOf(1), 8, 'acked but still behind the pending head')
    tracker.ack(0)
    assert.equal(tracker.offsetOf(0), undefined)
    assert.equal(tracker.offsetOf(1), undefined)
    assert.equal(tracker.offsetOf(2), undefined)
  })

  it('rejects offsets that do not increase, and offsets that are not non-negative integers', () => {
    const tracker = new OffsetTracker()
    tracker.register(10)
    for (const bad of [10, 9, 0]) {
      assert.throws(
        () => tracker.register(bad),
        (error: unknown) => {
          assert.ok(error instanceof KvpError)
          assert.equal(error.code, 'KVP_KAFKA')
          assert.match(error.message, new RegExp(`offset ${bad} is not after the last registered offset 10`))
          return true
        },
      )
    }
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => new OffsetTracker().register(bad), KvpError)
    }
    assert.equal(tracker.lastRegistered, 10, 'a rejected offset changes nothing')
    assert.equal(tracker.pending, 1)
    assert.equal(tracker.register(11), 1)
  })

  it('grows the buffer when the pending span fills it, keeping every entry', () => {
    const tracker = new OffsetTracker(4)
    assert.equal(tracker.capacity, 4)
    for (let i = 0; i < 100; i++) tracker.register(i * 2)
    assert.equal(tracker.capacity, 128)
    for (let seq = 0; seq < 100; seq++) assert.equal(tracker.offsetOf(seq), seq * 2)
    // Ack all but the first, backwards; then the first releases everything.
    for (let seq = 99; seq >= 1; seq--) assert.equal(tracker.ack(seq), false)
    assert.equal(tracker.watermark(), 0)
    assert.equal(tracker.ack(0), true)
    assert.equal(tracker.watermark(), 199)
    assert.equal(tracker.pending, 0)
  })

  it('reuses released slots: a steady pending span never grows the buffer, across wraparounds', () => {
    const tracker = new OffsetTracker(8)
    let seq = 0
    for (; seq < 8; seq++) tracker.register(seq)
    for (let round = 0; round < 1000; round++) {
      tracker.ack(seq - 8)
      tracker.register(seq)
      seq++
      assert.equal(tracker.watermark(), seq - 8)
    }
    assert.equal(tracker.capacity, 8)
  })

  it('grows correctly while the live span wraps around the end of the buffer', () => {
    const tracker = new OffsetTracker(8)
    for (let i = 0; i < 8; i++) tracker.register(i)
    for (let s = 0; s < 5; s++) tracker.ack(s) // head now in slot 5
    for (let i = 8; i < 13; i++) tracker.register(i) // fills slots 0..4 (wrapped)
    assert.equal(tracker.capacity, 8)
    tracker.register(13) // full: grows while wrapped
    assert.equal(tracker.capacity, 16)
    for (let s = 5; s <= 13; s++) assert.equal(tracker.offsetOf(s), s)
    tracker.ack(7)
    tracker.ack(12)
    for (const s of [5, 6]) tracker.ack(s)
    assert.equal(tracker.watermark(), 8)
    for (const s of [8, 9, 10, 11, 13]) tracker.ack(s)
    assert.equal(tracker.watermark(), 14)
    assert.equal(tracker.pending, 0)
  })

  it('shrinks back once the pending span is small, so memory follows the pending span', () => {
    const tracker = new OffsetTracker(16)
    for (let i = 0; i < 10_000; i++) tracker.register(i)
    assert.ok(tracker.capacity >= 10_000)
    for (let s = 0; s < 9_990; s++) tracker.ack(s)
    assert.ok(tracker.capacity <= 64, `capacity ${tracker.capacity}`)
    for (let s = 9_990; s < 10_000; s++) assert.equal(tracker.offsetOf(s), s)
    for (let s = 9_999; s >= 9_990; s--) tracker.ack(s)
    assert.equal(tracker.watermark(), 10_000)
    assert.equal(tracker.capacity, 16)
  })

  it('matches a naive model over 200k offsets with gaps acked in random order', () => {
    const next = random(0x5eed)
    const total = 200_000
    const tracker = new OffsetTracker(16)
    const offsets: number[] = []
    const acked = new Uint8Array(total)
    let offset = 0
    let lowestUnacked = 0 // index into offsets: the naive model's watermark position
    let registered = 0
    let pendingModel = 0
    const model = (): number | undefined => {
      while (lowestUnacked < registered && acked[lowestUnacked] === 1) lowestUnacked++
      if (registered === 0) return undefined
      return lowestUnacked < registered ? offsets[lowestUnacked] : (offsets[registered - 1] as number) + 1
    }
    // Register in waves, and ack a random subset of what is pending after each wave,
    // so the pending span grows, wraps and shrinks.
    let unackedPool: number[] = []
    while (registered < total) {
      const wave = Math.min(total - registered, 1 + Math.floor(next() * 5_000))
      for (let k = 0; k < wave; k++) {
        offset += next() < 0.1 ? 1 + Math.floor(next() * 50) : 1
        const seq = tracker.register(offset)
        assert.equal(seq, registered)
        offsets.push(offset)
        unackedPool.push(seq)
        registered++
        pendingModel++
      }
      shuffle(unackedPool, next)
      const acks = Math.floor(unackedPool.length * next())
      for (let k = 0; k < acks; k++) {
        const seq = unackedPool[k] as number
        const before = model()
        acked[seq] = 1
        pendingModel--
        const moved = tracker.ack(seq)
        assert.equal(moved, model() !== before, `seq ${seq}: ack says moved=${moved}`)
        if (next() < 0.01) assert.equal(tracker.ack(seq), false, 'duplicate ack')
        if (next() < 0.02) {
          assert.equal(tracker.watermark(), model())
          assert.equal(tracker.pending, pendingModel)
        }
      }
      unackedPool = unackedPool.slice(acks)
      assert.equal(tracker.watermark(), model())
      assert.equal(tracker.pending, pendingModel)
      assert.equal(tracker.lastRegistered, offset)
    }
    shuffle(unackedPool, next)
    for (const seq of unackedPool) {
      acked[seq] = 1
      tracker.ack(seq)
      if (next() < 0.01) assert.equal(tracker.watermark(), model())
    }
    assert.equal(tracker.pending, 0)
    assert.equal(tracker.watermark(), offset + 1)
    assert.ok(tracker.capacity <= 16, `capacity ${tracker.capacity} after everything was released`)
  })

  it('keeps the slot arithmetic right at the smallest capacity, across many wraparounds', () => {
    const tracker = new OffsetTracker(2)
    let seq = 0
    for (let round = 0; round < 10_000; round++) {
      const a = tracker.register(round * 3)
      const b = tracker.register(round * 3 + 1)
      assert.equal(a, seq++)
      assert.equal(b, seq++)
      assert.equal(tracker.ack(b), false)
      assert.equal(tracker.ack(a), true)
      assert.equal(tracker.watermark(), round * 3 + 2)
    }
    assert.equal(tracker.capacity, 2)
  })

  it('advanceTo jumps an idle watermark over offsets the consumer skipped (transaction markers, aborted records)', () => {
    const tracker = new OffsetTracker()
    tracker.register(0)
    tracker.register(1)
    tracker.ack(0)
    tracker.ack(1)
    assert.equal(tracker.watermark(), 2)
    assert.equal(tracker.advanceTo(6), true)
    assert.equal(tracker.watermark(), 6)
    assert.equal(tracker.advanceTo(6), false, 'the same position again changes nothing')
    assert.equal(tracker.advanceTo(4), false, 'a lower position changes nothing')
    assert.equal(tracker.watermark(), 6)
    assert.throws(() => tracker.register(5), KvpError, 'an offset below the position was skipped for good')
    assert.equal(tracker.register(6), 2)
    assert.equal(tracker.watermark(), 6)
  })

  it('advanceTo with entries pending keeps the watermark at the first pending one until it is acked', () => {
    const tracker = new OffsetTracker()
    tracker.register(10)
    tracker.register(11)
    assert.equal(tracker.advanceTo(15), false)
    assert.equal(tracker.watermark(), 10)
    tracker.ack(1)
    assert.equal(tracker.watermark(), 10)
    assert.equal(tracker.ack(0), true)
    assert.equal(tracker.watermark(), 15)
    assert.equal(tracker.pending, 0)
  })

  it('advanceTo before anything is registered sets the watermark; 0, negative and non-integer positions are ignored', () => {
    const tracker = new OffsetTracker()
    assert.equal(tracker.advanceTo(0), false)
    assert.equal(tracker.advanceTo(-1001), false)
    assert.equal(tracker.advanceTo(Number.NaN), false)
    assert.equal(tracker.watermark(), undefined)
    assert.equal(tracker.advanceTo(3), true)
    assert.equal(tracker.watermark(), 3)
    assert.equal(tracker.register(3), 0)
  })
})

test('doneAbove lists the acked offsets above the watermark, ascending, and doneAboveCount counts them', () => {
  const tracker = new OffsetTracker(4)
  const seqs = [10, 11, 13, 14, 20, 21].map((offset) => tracker.register(offset))
  for (const i of [1, 3, 4]) tracker.ack(seqs[i] as number)
  assert.equal(tracker.watermark(), 10)
  assert.deepEqual(tracker.doneAbove(), [11, 14, 20])
  assert.equal(tracker.doneAboveCount, 3)
  tracker.ack(seqs[0] as number)
  assert.equal(tracker.watermark(), 13)
  assert.deepEqual(tracker.doneAbove(), [14, 20])
  assert.equal(tracker.doneAboveCount, 2)
})
