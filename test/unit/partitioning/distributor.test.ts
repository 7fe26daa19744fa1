import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import type { Distribution } from '../../../src/config/options.js'
import { ConfigError, InternalError } from '../../../src/errors.js'
import { BalancedDistributor } from '../../../src/partitioning/balanced.js'
import { ConsistentDistributor } from '../../../src/partitioning/consistent.js'
import { createDistributor } from '../../../src/partitioning/distributor.js'

describe('createDistributor', () => {
  it('builds the distributor the option names, with that many lanes', () => {
    const consistent = createDistributor('consistent', 12)
    assert.ok(consistent instanceof ConsistentDistributor)
    assert.equal(consistent.lanes, 12)
    assert.equal(consistent.needsBarrier, false)
    const balanced = createDistributor('balanced', 3)
    assert.ok(balanced instanceof BalancedDistributor)
    assert.equal(balanced.lanes, 3)
    assert.equal(balanced.needsBarrier, true)
  })

  it('rejects an unknown distribution with a ConfigError naming the field', () => {
    assert.throws(
      () => createDistributor('round-robin' as Distribution, 4, 'topics[0].virtualPartitions.distribution'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError)
        assert.equal(error.field, 'topics[0].virtualPartitions.distribution')
        assert.match(error.message, /expected 'consistent', 'balanced' or 'sticky', got "round-robin"/)
        return true
      },
    )
  })

  it('rejects a lane count that is not a positive integer', () => {
    for (const lanes of [0, -1, 1.5, Number.NaN, 1e9]) {
      assert.throws(() => createDistributor('consistent', lanes), InternalError)
    }
  })
})
