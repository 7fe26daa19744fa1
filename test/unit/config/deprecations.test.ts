/**
 * `virtualPartitions.maxPartitions` and `kvp run --max-partitions`, the former names of
 * `lanes` and `--lanes`, still work: the number is used as the lanes, and one
 * DeprecationWarning per process says to use the new name. The warning is once per
 * process, so this file checks it in the order a process meets it.
 */
import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import { lanesFlag } from '../../../src/cli/parse.js'
import { resolveOptions } from '../../../src/config/resolve.js'
import { ConfigError, UsageError } from '../../../src/errors.js'

/** The warnings `f` emits (process 'warning' events arrive on the next tick). */
async function warningsOf(f: () => unknown): Promise<Error[]> {
  const seen: Error[] = []
  const listener = (warning: Error): void => {
    seen.push(warning)
  }
  process.on('warning', listener)
  try {
    f()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
  }
  return seen
}

const route = (virtualPartitions: Record<string, unknown>) => ({ groupId: 'g', topics: [{ topic: 't', handler: 'h.js', virtualPartitions }] })

describe('maxPartitions, the former name of lanes', () => {
  test('lanes is the lane count; no warning', async () => {
    const warnings = await warningsOf(() => assert.equal(resolveOptions(route({ lanes: 8 })).routes[0]?.lanes, 8))
    assert.deepEqual(warnings, [])
  })

  test('maxPartitions alone is used as lanes, with one DeprecationWarning that names lanes', async () => {
    const warnings = await warningsOf(() => {
      assert.equal(resolveOptions(route({ maxPartitions: 12 })).routes[0]?.lanes, 12)
      assert.equal(resolveOptions(route({ maxPartitions: 3 })).routes[0]?.lanes, 3)
    })
    assert.equal(warnings.length, 1, 'once per process')
    const [warning] = warnings as [Error & { code?: string }]
    assert.equal(warning.name, 'DeprecationWarning')
    assert.equal(warning.code, 'KVP_DEP_MAX_PARTITIONS')
    assert.equal(warning.message, 'virtualPartitions.maxPartitions is deprecated: use virtualPartitions.lanes, the same number of lanes per Kafka partition')
  })

  test('both, with the same number, is that number; with different numbers, a ConfigError naming maxPartitions', () => {
    assert.equal(resolveOptions(route({ lanes: 8, maxPartitions: 8 })).routes[0]?.lanes, 8)
    assert.throws(
      () => resolveOptions(route({ lanes: 8, maxPartitions: 16 })),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.field === 'topics[0].virtualPartitions.maxPartitions' &&
        /deprecated name of lanes, and differs from it \(lanes 8, maxPartitions 16\)/.test(error.message),
    )
    assert.throws(
      () => resolveOptions(route({ maxPartitions: 0 })),
      (error: unknown) => error instanceof ConfigError && error.field === 'topics[0].virtualPartitions.maxPartitions',
    )
  })

  test('kvp run: --max-partitions is --lanes (the same warning, already given in this process); both, differing, is a usage error naming --max-partitions', async () => {
    assert.equal(lanesFlag(4, undefined), 4)
    assert.equal(lanesFlag(undefined, undefined), undefined)
    const warnings = await warningsOf(() => {
      assert.equal(lanesFlag(undefined, 6), 6)
      assert.equal(lanesFlag(6, 6), 6)
    })
    assert.deepEqual(warnings, [], 'the warning is once per process, whichever name met it first')
    assert.throws(
      () => lanesFlag(4, 8),
      (error: unknown) =>
        error instanceof UsageError &&
        error.field === '--max-partitions' &&
        error.message === '--max-partitions: is the deprecated name of --lanes, and differs from it (--lanes 4, --max-partitions 8): give only --lanes',
    )
  })
})
