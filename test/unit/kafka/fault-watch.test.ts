import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import { type ClientFault, FaultKinds } from '../../../src/kafka/client-fault.js'
import { FAULT_REPEAT_MS, FaultWatch } from '../../../src/kafka/fault-watch.js'
import { ErrorCodes } from '../../../src/errors.js'

function fault(kind: ClientFault['kind'], where: Partial<Pick<ClientFault, 'topic' | 'partition' | 'offset'>> = {}): ClientFault {
  return { kind, code: ErrorCodes.KAFKA, cause: kind, fix: 'fix', detail: '', permanent: kind === FaultKinds.CODEC, origin: 'consume', ...where }
}

test('a fault is published when first seen and again at most once per repeat interval, counting every sighting', () => {
  let now = 1000
  const watch = new FaultWatch(() => now)
  const first = watch.report(fault(FaultKinds.AUTHENTICATION))
  assert.equal(first?.repeat, false)
  now += 10
  assert.equal(watch.report(fault(FaultKinds.AUTHENTICATION)), undefined)
  now += FAULT_REPEAT_MS
  const again = watch.report(fault(FaultKinds.AUTHENTICATION))
  assert.equal(again?.repeat, true)
  assert.equal(again?.fault.count, 3)
  assert.equal(again?.fault.since, 1000)
  assert.equal(watch.size, 1)
})

test('progress ends the faults it proves wrong: a topic its own, a join the client ones, a reassignment a corrupt batch', () => {
  const watch = new FaultWatch(() => 0)
  watch.report(fault(FaultKinds.AUTHENTICATION))
  watch.report(fault(FaultKinds.UNKNOWN_TOPIC, { topic: 'a' }))
  watch.report(fault(FaultKinds.AUTHORIZATION, { topic: 'b', partition: 0 }))
  watch.report(fault(FaultKinds.CORRUPT_BATCH, { topic: 'a', partition: 1, offset: 5 }))
  watch.report(fault(FaultKinds.CODEC, { topic: 'a', partition: 2, offset: 9 }))
  assert.deepEqual(
    watch.topicProgressed('a').map((f) => f.kind),
    [FaultKinds.UNKNOWN_TOPIC],
  )
  assert.deepEqual(
    watch.clientProgressed().map((f) => f.kind),
    [FaultKinds.AUTHENTICATION],
  )
  assert.deepEqual(watch.partitionReassigned('a', 0), [])
  assert.deepEqual(
    watch.partitionReassigned('a', 1).map((f) => f.kind),
    [FaultKinds.CORRUPT_BATCH],
  )
  // A codec the build lacks is never over while running.
  assert.deepEqual(
    watch.active().map((f) => f.kind),
    [FaultKinds.AUTHORIZATION, FaultKinds.CODEC],
  )
  // A cleared fault seen again is new again.
  assert.equal(watch.report(fault(FaultKinds.AUTHENTICATION))?.repeat, false)
})

test("a producer's faults end when one of its records is delivered, not when the consumer joins", () => {
  const watch = new FaultWatch(() => 0)
  watch.report({ ...fault(FaultKinds.AUTHORIZATION), origin: 'produce' })
  watch.report({ ...fault(FaultKinds.AUTHORIZATION, { topic: 'dlq' }), origin: 'produce' })
  assert.deepEqual(watch.clientProgressed(), [])
  assert.equal(watch.producerDelivered('other').length, 1, 'the cluster-wide one')
  assert.equal(watch.producerDelivered('dlq').length, 1)
  assert.equal(watch.size, 0)
})
