import { strict as assert } from 'node:assert'
import { describe, test } from 'node:test'
import type Kafka from 'node-rdkafka'
import { KvpError } from '../../../src/errors.js'
import { DeadLetterHeaders, deadLetterHeaders } from '../../../src/kafka/dead-letter.js'
import { bufferHeaders } from '../../../src/kafka/producer-client.js'

describe('dead-letter headers', { timeout: 5_000 }, () => {
  test('bufferHeaders gives one Buffer-valued header per name, in order, repeats kept', () => {
    const binary = Buffer.from([0x00, 0xff])
    const headers = bufferHeaders([{ a: binary }, { b: 'text' }, { a: 'again', c: Buffer.alloc(0) }])
    assert.deepEqual(headers, [{ a: binary }, { b: Buffer.from('text') }, { a: Buffer.from('again') }, { c: Buffer.alloc(0) }])
    assert.equal(headers[0]?.a, binary, 'a Buffer is passed on as it is, not copied')
  })

  test("a dead letter carries the original headers first, byte for byte, then kvp's, every value a Buffer", () => {
    const message: Kafka.Message = {
      topic: 'orders',
      partition: 2,
      offset: 41,
      size: 1,
      key: Buffer.from([0x00]),
      value: Buffer.from([0xff]),
      headers: [{ hx: Buffer.from([0x00, 0x01, 0x02]) }, { hx: Buffer.from([0xfe]) }, { empty: Buffer.alloc(0) }],
    }
    const headers = deadLetterHeaders(message, new KvpError('KVP_HANDLER', 'boom \u0000 with a NUL'), 3)
    assert.deepEqual(headers, [
      { hx: Buffer.from([0x00, 0x01, 0x02]) },
      { hx: Buffer.from([0xfe]) },
      { empty: Buffer.alloc(0) },
      { [DeadLetterHeaders.errorMessage]: Buffer.from('boom \u0000 with a NUL') },
      { [DeadLetterHeaders.errorCode]: Buffer.from('KVP_HANDLER') },
      { [DeadLetterHeaders.topic]: Buffer.from('orders') },
      { [DeadLetterHeaders.partition]: Buffer.from('2') },
      { [DeadLetterHeaders.offset]: Buffer.from('41') },
      { [DeadLetterHeaders.attempts]: Buffer.from('3') },
    ])
  })
})
