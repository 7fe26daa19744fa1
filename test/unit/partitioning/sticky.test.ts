import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { VirtualKey } from '../../../src/config/options.js'
import { ConsistentDistributor } from '../../../src/partitioning/consistent.js'
import type { Distributor, LaneProgress } from '../../../src/partitioning/distributor.js'
import { StickyDistributor } from '../../../src/partitioning/sticky.js'
import { random } from '../../helpers/random.js'

/**
 * Lanes as the partition state keeps them: FIFOs of keys with the progress counters a
 * distributor reads. `finish` takes head messages off a lane as a handled slice would.
 */
class Lanes {
  readonly queues: VirtualKey[][]
  readonly progress: LaneProgress
  readonly #distributor: Distributor

  constructor(distributor: Distributor) {
    this.#distributor = distributor
    this.queues = Array.from({ length: distributor.lanes }, () => [])
    this.progress = { taken: new Float64Array(distributor.lanes), done: new Float64Array(distributor.lanes) }
  }

  /** Distributes a batch and appends it; returns each message's lane. */
  add(keys: VirtualKey[]): number[] {
    const out = new Uint32Array(keys.length)
    this.#distributor.distribute(keys, out, this.progress)
    keys.forEach((key, i) => {
      const lane = out[i] as number
      this.queues[lane]?.push(key)
      this.progress.taken[lane] = (this.progress.taken[lane] as number) + 1
    })
    return Array.from(out)
  }

  finish(lane: number, count: number): VirtualKey[] {
    const done = (this.queues[lane] as VirtualKey[]).splice(0, count)
    this.progress.done[lane] = (this.progress.done[lane] as number) + done.length
    return done
  }

  backlog(lane: number): number {
    return (this.queues[lane] as VirtualKey[]).length
  }
}

function keyId(key: VirtualKey): string {
  return key === null || key === undefined ? '<null>' : String(key)
}

/** Asserts that every key with messages queued has them all in one lane. */
function assertOneLanePerKey(lanes: Lanes): void {
  const laneOf = new Map<string, number>()
  lanes.queues.forEach((queue, lane) => {
    for (const key of queue) {
      const seen = laneOf.get(keyId(key))
      assert.ok(seen === undefined || seen === lane, `key ${keyId(key)} is queued in lanes ${seen} and ${lane}`)
      laneOf.set(keyId(key), lane)
    }
  })
}

describe('StickyDistributor', () => {
  it('needs no batch barrier', () => {
    assert.equal(new StickyDistributor(8).needsBarrier, false)
  })

  it('keeps a key in its lane while it has messages there, and moves it only once they are done', () => {
    const lanes = new Lanes(new StickyDistributor(4))
    const [first] = lanes.add(['a'])
    assert.equal(first, 0, 'all lanes empty: the lowest')
    assert.deepEqual(lanes.add(['b', 'c', 'a']), [1, 2, 0], 'new keys go to empty lanes, a stays with its message')
    lanes.add(['d', 'd', 'd'])
    assert.deepEqual(
      lanes.queues.map((queue) => queue.length),
      [2, 1, 1, 3],
    )
    // a is still queued in lane 0: it stays, although lane 0 is no longer the least loaded.
    assert.deepEqual(lanes.add(['a']), [0])
    lanes.finish(0, 3)
    // a's messages are all done: it goes to the least loaded lane now (0: empty).
    lanes.finish(1, 1)
    assert.deepEqual(lanes.add(['a', 'b']), [0, 1])
    lanes.finish(3, 3)
    // d has nothing queued: it goes to the least loaded lane, 3 (the only empty one).
    assert.deepEqual(lanes.add(['d']), [3])
  })

  it('never splits a key across lanes, and each key finishes in order, with random progress', () => {
    const next = random(7)
    const lanes = new Lanes(new StickyDistributor(16))
    const sent = new Map<string, number>()
    const finished = new Map<string, number>()
    const finish = (lane: number, count: number): void => {
      for (const key of lanes.finish(lane, count)) {
        const id = keyId(key)
        const n = (finished.get(id) ?? 0) + 1
        finished.set(id, n)
        assert.ok(n <= (sent.get(id) ?? 0))
      }
    }
    for (let round = 0; round < 400; round++) {
      const batch: VirtualKey[] = []
      const size = Math.floor(next() * 60)
      // Skewed: key k with weight ~1/(k+1), and some null keys.
      for (let i = 0; i < size; i++) batch.push(next() < 0.05 ? null : `k${Math.floor(1 / (next() + 0.02)) % 50}`)
      for (const key of batch) sent.set(keyId(key), (sent.get(keyId(key)) ?? 0) + 1)
      lanes.add(batch)
      assertOneLanePerKey(lanes)
      for (let lane = 0; lane < 16; lane++) finish(lane, Math.floor(next() * 4))
    }
    for (let lane = 0; lane < 16; lane++) finish(lane, lanes.backlog(lane))
    assert.deepEqual(finished, sent, 'every message finished once')
  })

  it('keeps every lane busy under a bounded backlog, where the hash leaves lanes idle', () => {
    // 2,000 keys of uniform traffic into 256 lanes, each lane finishing one message per
    // step (a 1 ms handler), at most 5,000 messages in flight (backpressure) and 1,000
    // fetched per step while that allows. The share of lane-steps that did work is the
    // throughput against the lanes' ceiling.
    const utilization = (distributor: Distributor): number => {
      const next = random(3)
      const lanes = new Lanes(distributor)
      let inFlight = 0
      let finished = 0
      const steps = 400
      for (let step = 0; step < steps; step++) {
        const batch: string[] = []
        for (let i = Math.min(1000, 5000 - inFlight); i > 0; i--) batch.push(`key-${Math.floor(next() * 2000)}`)
        lanes.add(batch)
        inFlight += batch.length
        for (let lane = 0; lane < 256; lane++) {
          const done = lanes.finish(lane, 1).length
          finished += done
          inFlight -= done
        }
        assertOneLanePerKey(lanes)
      }
      return finished / (steps * 256)
    }
    const consistent = utilization(new ConsistentDistributor(256))
    const sticky = utilization(new StickyDistributor(256))
    assert.ok(sticky > 0.97, `sticky kept ${(sticky * 100).toFixed(1)}% of lane-steps busy`)
    assert.ok(consistent < 0.8, `consistent kept ${(consistent * 100).toFixed(1)}% busy: the busiest lanes hold the backlog`)
  })

  it('keeps null-keyed messages together, in their relative order', () => {
    const lanes = new Lanes(new StickyDistributor(8))
    const out = lanes.add([null, 'a', undefined, 'b', null])
    assert.equal(out[0], out[2])
    assert.equal(out[0], out[4])
    lanes.finish(out[0] as number, 1)
    assert.equal(lanes.add([null])[0], out[0], 'two null-keyed messages still queued: the lane holds')
  })

  it('without progress, gives each new key the least loaded lane and keeps it there', () => {
    const distributor = new StickyDistributor(3)
    const out = new Uint32Array(6)
    distributor.distribute(['a', 'b', 'c', 'a', 'd', 'b'], out)
    assert.deepEqual(Array.from(out), [0, 1, 2, 0, 1, 1])
    distributor.distribute(['a', 'c', 'e'], out)
    assert.deepEqual(Array.from(out.subarray(0, 3)), [0, 2, 2], 'e: lane 2 has 2 messages, 0 has 3 and 1 has 3')
  })

  it('puts everything in lane 0 when there is one lane', () => {
    const out = new Uint32Array(3).fill(9)
    new StickyDistributor(1).distribute(['a', null, 'b'], out)
    assert.deepEqual(Array.from(out), [0, 0, 0])
  })
})
