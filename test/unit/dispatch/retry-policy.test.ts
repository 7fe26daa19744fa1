import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { backoffDelay, failureOutcome } from '../../../src/dispatch/retry-policy.js'

test('backoff grows exponentially, is capped, and jitters within the upper half', () => {
  assert.equal(
    backoffDelay(1, 100, 10_000, () => 1),
    100,
  )
  assert.equal(
    backoffDelay(1, 100, 10_000, () => 0),
    50,
  )
  assert.equal(
    backoffDelay(4, 100, 10_000, () => 1),
    800,
  )
  assert.equal(
    backoffDelay(30, 100, 10_000, () => 1),
    10_000,
  )
  assert.equal(
    backoffDelay(1000, 100, 10_000, () => 0.5),
    7500,
  )
  assert.equal(backoffDelay(3, 0, 0), 0)
})

test('without a dead-letter topic a failing message is retried for ever; with one, until its attempts are spent', () => {
  assert.equal(failureOutcome(1_000_000, 3, false, 'KVP_HANDLER'), 'retry')
  assert.equal(failureOutcome(2, 3, true, 'KVP_HANDLER'), 'retry')
  assert.equal(failureOutcome(3, 3, true, 'KVP_HANDLER'), 'dead-letter')
})

test('an undecodable payload goes straight to the dead-letter topic', () => {
  assert.equal(failureOutcome(1, 10, true, 'KVP_DECODE'), 'dead-letter')
  assert.equal(failureOutcome(1, 10, false, 'KVP_DECODE'), 'retry')
})
