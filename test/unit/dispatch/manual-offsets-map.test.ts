import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { fetchMessages, partitionState } from '../../helpers/partitions.js'

test('manual offsets: only messages marked with markAsConsumed() count as done above the watermark, so only they go into the offset map', () => {
  const state = partitionState('t', 0, { manualOffsets: true })
  fetchMessages(state, 0, 16)
  const lanes = state.lanes.filter((lane): lane is NonNullable<typeof lane> => lane !== undefined && lane.size > 0)
  assert.ok(lanes.length >= 2)
  const [holding, ...others] = lanes
  assert.ok(holding)
  // Every other lane handles its head: the first without a mark, the rest marked.
  const [unmarked, ...marked] = others
  assert.ok(unmarked)
  const unmarkedOffset = unmarked.headOffset()
  state.sliceHandled(unmarked, 1, 0)
  const markedOffsets = marked.map((lane) => {
    const offset = lane.headOffset()
    state.sliceHandled(lane, 1, 1)
    return offset
  })
  const watermark = state.watermark() as number
  assert.ok(!state.doneAbove().includes(unmarkedOffset), 'a handled but unmarked message is not done')
  assert.deepEqual(
    state.doneAbove(),
    markedOffsets.filter((offset) => offset > watermark).sort((a, b) => a - b),
  )
})
