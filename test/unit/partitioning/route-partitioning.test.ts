import { strict as assert } from 'node:assert'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import protobuf from 'protobufjs'
import type { EngineOptions } from '../../../src/config/options.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import type { ResolvedRoute } from '../../../src/config/resolve.js'
import { ConfigError } from '../../../src/errors.js'
import { BalancedDistributor } from '../../../src/partitioning/balanced.js'
import { ConsistentDistributor } from '../../../src/partitioning/consistent.js'
import { routePartitioning } from '../../../src/partitioning/route-partitioning.js'

const protoFile = fileURLToPath(new URL('../../../../test/fixtures/order.proto', import.meta.url))

function route(topic: EngineOptions['topics'][number]): ResolvedRoute {
  const resolved = resolveOptions({ groupId: 'g', topics: [topic] }).routes[0]
  assert.ok(resolved)
  return resolved
}

function configError(build: () => unknown): ConfigError {
  try {
    build()
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error))
    return error
  }
  assert.fail('expected a ConfigError')
}

describe('routePartitioning', () => {
  it('hands out a fresh distributor of the route’s distribution and lane count on every call', () => {
    const partitioning = routePartitioning(route({ topic: 't', handler: 'h.js', virtualPartitions: { lanes: 8, distribution: 'balanced' } }))
    const first = partitioning.newDistributor()
    const second = partitioning.newDistributor()
    assert.ok(first instanceof BalancedDistributor)
    assert.ok(second instanceof BalancedDistributor)
    assert.notEqual(first, second, 'balanced keeps per-batch scratch state: no two partitions share one')
    assert.equal(first.lanes, 8)
  })

  it('a route that does not split has one consistent lane', () => {
    const distributor = routePartitioning(route({ topic: 't', handler: 'h.js', virtualPartitions: false })).newDistributor()
    assert.ok(distributor instanceof ConsistentDistributor)
    assert.equal(distributor.lanes, 1)
  })

  it('a protobuf partitioner reads the key from the value decoded with the route’s type', () => {
    const partitioning = routePartitioning(
      route({
        topic: 't',
        handler: 'h.js',
        payload: { protobuf: protoFile, type: 'shop.Order' },
        virtualPartitions: { partitioner: { protobuf: 'customer' }, lanes: 4, distribution: 'consistent' },
      }),
    )
    const Order = protobuf.loadSync(protoFile).lookupType('shop.Order')
    const value = Buffer.from(Order.encode(Order.create({ id: 'o-1', customer: 'c-7', amount: 5 })).finish())
    assert.equal(partitioning.extract({ topic: 't', partition: 0, offset: 0, key: null, value }), 'c-7')
  })

  it('a wrong choice fails when the route is built, naming its option', () => {
    const base = route({ topic: 't', handler: 'h.js', virtualPartitions: { lanes: 4, distribution: 'consistent' } })
    assert.equal(configError(() => routePartitioning({ ...base, distribution: 'bogus' as never })).field, 'topics[0].virtualPartitions.distribution')
    assert.equal(configError(() => routePartitioning({ ...base, payload: { protobuf: '/no/such.proto', type: 'x.Y' } })).field, 'topics[0].payload.protobuf')
  })
})
