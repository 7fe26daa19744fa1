import { strict as assert } from 'node:assert'
import { test } from 'node:test'
import Kafka from 'node-rdkafka'
import { classifyClientError, describeFault, FaultKinds } from '../../../src/kafka/client-fault.js'
import { ErrorCodes } from '../../../src/errors.js'

const E = Kafka.CODES.ERRORS
const FEATURES = ['gzip', 'snappy', 'lz4']

test('a batch in a codec the build lacks is a permanent codec fault naming topic, partition, offset and the features', () => {
  const fault = classifyClientError(
    { code: E.ERR__NOT_IMPLEMENTED, message: 'Decompression (codec 0x4) of message at 120 of 3000 bytes failed: Local: Not implemented', topic: 'orders', partition: 2, offset: 120 },
    { origin: 'consume', features: FEATURES },
  )
  assert.ok(fault)
  assert.equal(fault.kind, FaultKinds.CODEC)
  assert.equal(fault.code, ErrorCodes.CODEC)
  assert.equal(fault.permanent, true)
  assert.deepEqual([fault.topic, fault.partition, fault.offset], ['orders', 2, 120])
  assert.match(fault.cause, /orders\[2\] at offset 120/)
  assert.match(fault.cause, /builtin\.features: gzip,snappy,lz4/)
  assert.match(describeFault(fault), /Fix: reinstall kvp/)
})

test('a batch librdkafka cannot decompress or parse is a corrupt-batch fault that is not permanent', () => {
  for (const code of [E.ERR__BAD_COMPRESSION, E.ERR__BAD_MSG]) {
    const fault = classifyClientError({ code, message: 'Local: Bad compression', topic: 't', partition: 0, offset: 7 }, { origin: 'consume' })
    assert.equal(fault?.kind, FaultKinds.CORRUPT_BATCH)
    assert.equal(fault?.code, ErrorCodes.CORRUPT_BATCH)
    assert.equal(fault?.permanent, false)
    assert.match(fault?.cause ?? '', /t\[0\] at offset 7; the partition stops there/)
  }
})

test('a refused password is an authentication fault naming the mechanism, not a transport failure', () => {
  const fault = classifyClientError(
    {
      code: E.ERR__AUTHENTICATION,
      message: 'SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 3ms in state AUTH_REQ)',
    },
    { origin: 'client' },
  )
  assert.equal(fault?.kind, FaultKinds.AUTHENTICATION)
  assert.equal(fault?.code, ErrorCodes.AUTHENTICATION)
  assert.match(fault?.cause ?? '', /SASL SCRAM-SHA-512 authentication failed/)
  assert.match(fault?.fix ?? '', /sasl\.username and sasl\.password/)
})

test('a certificate that cannot be verified is a TLS fault that says to set ssl.ca.location', () => {
  const fault = classifyClientError(
    {
      code: E.ERR__SSL,
      message:
        'ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 4ms in state SSL_HANDSHAKE)',
    },
    { origin: 'client' },
  )
  assert.equal(fault?.kind, FaultKinds.TLS)
  assert.equal(fault?.code, ErrorCodes.TLS)
  assert.match(fault?.cause ?? '', /could not be verified/)
  assert.match(fault?.fix ?? '', /ssl\.ca\.location/)
  // A transport error that names a failed handshake is TLS too.
  assert.equal(classifyClientError({ code: E.ERR__TRANSPORT, message: 'SSL handshake failed: certificate verify failed' }, { origin: 'client' })?.kind, FaultKinds.TLS)
})

test('ACL refusals name what to grant: READ on the topic, READ on the group, WRITE on a produced-to topic', () => {
  const read = classifyClientError({ code: E.ERR_TOPIC_AUTHORIZATION_FAILED, message: 'Broker: Topic authorization failed', topic: 'orders', partition: 1 }, { origin: 'consume' })
  assert.equal(read?.code, ErrorCodes.AUTHORIZATION)
  assert.match(read?.cause ?? '', /not allowed to read topic 'orders'/)
  assert.match(read?.fix ?? '', /READ and DESCRIBE/)
  const group = classifyClientError({ code: E.ERR_GROUP_AUTHORIZATION_FAILED, message: 'Broker: Group authorization failed' }, { origin: 'consume', groupId: 'billing' })
  assert.match(group?.cause ?? '', /consumer group 'billing'/)
  const write = classifyClientError({ code: E.ERR_TOPIC_AUTHORIZATION_FAILED, message: 'Broker: Topic authorization failed' }, { origin: 'produce', topic: 'orders.dlq' })
  assert.match(write?.cause ?? '', /not allowed to write to topic 'orders\.dlq'/)
  assert.match(write?.fix ?? '', /WRITE/)
})

test('a missing subscribed topic is a fault only when librdkafka names the topic', () => {
  const missing = classifyClientError({ code: E.ERR_UNKNOWN_TOPIC_OR_PART, message: 'Subscribed topic not available: nope: Broker: Unknown topic or partition', topic: 'nope' }, { origin: 'consume' })
  assert.equal(missing?.kind, FaultKinds.UNKNOWN_TOPIC)
  assert.match(missing?.cause ?? '', /topic 'nope' does not exist/)
  assert.equal(classifyClientError({ code: E.ERR_UNKNOWN_TOPIC_OR_PART, message: 'Broker: Unknown topic or partition' }, { origin: 'consume' }), undefined)
})

test('transient errors are not faults: librdkafka retries them', () => {
  for (const code of [E.ERR__TRANSPORT, E.ERR__ALL_BROKERS_DOWN, E.ERR__MSG_TIMED_OUT]) {
    assert.equal(classifyClientError({ code, message: 'Local: Broker transport failure' }, { origin: 'client' }), undefined)
  }
  assert.equal(classifyClientError('not an error', { origin: 'client' }), undefined)
  assert.equal(classifyClientError(null, { origin: 'client' }), undefined)
})
