import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { lagTable } from '../../../src/cli/lag-command.js'

test('kvp lag prints the columns of kafka-consumer-groups, numbers right-aligned, "-" for no committed offset, and the total', () => {
  const text = lagTable(
    'orders',
    [
      { topic: 'orders', partition: 0, committed: 7, lowWatermark: 0, highWatermark: 10, lag: 3 },
      { topic: 'orders', partition: 11, committed: null, lowWatermark: 2, highWatermark: 12345, lag: 12343 },
    ],
    12346,
  )
  assert.equal(
    text,
    [
      'GROUP   TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET    LAG',
      'orders  orders          0               7              10      3',
      'orders  orders         11               -           12345  12343',
      'total lag 12346',
      '',
    ].join('\n'),
  )
  assert.match(lagTable('g', [], 0), /no committed offsets/)
})
