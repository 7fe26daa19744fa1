import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { BufferPool } from '../../../src/codec/buffer-pool.js'

test('a released buffer is handed out again for any size of its class', () => {
  const pool = new BufferPool({ minBytes: 256, maxBytes: 4096 })
  const a = pool.acquire(300)
  assert.equal(a.byteLength, 512, 'sizes round up to a power of two')
  pool.release(a)
  assert.equal(pool.freeBytes, 512)
  assert.equal(pool.acquire(400), a, 'same class: the same buffer')
  assert.equal(pool.freeBytes, 0)
  assert.notEqual(pool.acquire(400), a, 'handed out once only')
  assert.equal(pool.acquire(1).byteLength, 256, 'the smallest class')
})

test('sizes past the largest class are exact and never pooled; idle bytes are capped', () => {
  const pool = new BufferPool({ minBytes: 256, maxBytes: 1024, maxFreeBytes: 2048 })
  const big = pool.acquire(5000)
  assert.equal(big.byteLength, 5000)
  pool.release(big)
  assert.equal(pool.freeBytes, 0)
  pool.release(new ArrayBuffer(300))
  assert.equal(pool.freeBytes, 0, 'a buffer that is not a class size is left to the GC')
  for (let i = 0; i < 4; i++) pool.release(new ArrayBuffer(1024))
  assert.equal(pool.freeBytes, 2048, 'no more than maxFreeBytes idle')
  const moved = pool.acquire(1024)
  structuredClone(moved, { transfer: [moved] })
  pool.release(moved)
  assert.equal(pool.freeBytes, 1024, 'a transferred (detached) buffer is not taken back')
})
