import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { ConfigError, ErrorClasses, ErrorCodes, HandlerError, InternalError, isErrorCode, isKvpError, KafkaError, KvpError, TimeoutError, UsageError, type ErrorCode } from '../../src/errors.js'
import * as api from '../../src/index.js'

/** The codes that were retryable before each code had its class: retries must not change. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set([ErrorCodes.HANDLER, ErrorCodes.TIMEOUT, ErrorCodes.WORKER_CRASH, ErrorCodes.DEAD_LETTER, ErrorCodes.KAFKA, ErrorCodes.COMMIT, ErrorCodes.PRODUCE])

describe('errors: a closed list of codes, one class per code', () => {
  it('every code has exactly one class, whose static code is that code, and no class has two codes', () => {
    const codes = Object.values(ErrorCodes)
    assert.equal(new Set(codes).size, codes.length, 'codes are unique')
    assert.deepEqual(Object.keys(ErrorClasses).sort(), [...codes].sort(), 'a class for each code, and nothing else')
    for (const code of codes) assert.equal(ErrorClasses[code].code, code, code)
    assert.equal(new Set(Object.values(ErrorClasses)).size, codes.length, 'one class per code')
    for (const code of codes) assert.match(code, /^KVP_[A-Z_]+$/)
  })

  it('the existing codes keep their strings', () => {
    assert.deepEqual(
      { ...ErrorCodes },
      {
        CONFIG: 'KVP_CONFIG',
        USAGE: 'KVP_USAGE',
        HANDLER: 'KVP_HANDLER',
        HANDLER_LOAD: 'KVP_HANDLER_LOAD',
        TIMEOUT: 'KVP_TIMEOUT',
        DECODE: 'KVP_DECODE',
        PARTITIONER: 'KVP_PARTITIONER',
        WORKER_CRASH: 'KVP_WORKER_CRASH',
        DEAD_LETTER: 'KVP_DEAD_LETTER',
        KAFKA: 'KVP_KAFKA',
        PRODUCE: 'KVP_PRODUCE',
        TRANSACTION: 'KVP_TRANSACTION',
        COMMIT: 'KVP_COMMIT',
        STOPPED: 'KVP_STOPPED',
        AUTHENTICATION: 'KVP_AUTHENTICATION',
        AUTHORIZATION: 'KVP_AUTHORIZATION',
        TLS: 'KVP_TLS',
        CODEC: 'KVP_CODEC',
        CORRUPT_BATCH: 'KVP_CORRUPT_BATCH',
        UNKNOWN_TOPIC: 'KVP_UNKNOWN_TOPIC',
        INTERNAL: 'KVP_INTERNAL',
      },
    )
  })

  it('canRetry says which codes another attempt can help, as retryable did before', () => {
    for (const [code, errorClass] of Object.entries(ErrorClasses)) {
      assert.equal(errorClass.canRetry, RETRYABLE.has(code as ErrorCode), code)
      const error = new KvpError(code as ErrorCode, 'x')
      assert.equal(error.retryable, errorClass.canRetry, `${code}: an error's retryable defaults to its class's canRetry`)
    }
    assert.equal(new KafkaError('x', { retryable: false }).retryable, false, 'one error may say otherwise')
    assert.equal(new InternalError('x', { retryable: true }).retryable, true)
  })

  it('new KvpError(code, ...) is an error of the code’s class, with its name, and the message as given', () => {
    for (const [code, errorClass] of Object.entries(ErrorClasses)) {
      const error = new KvpError(code as ErrorCode, `${code} happened`, { field: 'f' })
      assert.ok(error instanceof errorClass.prototype.constructor, code)
      assert.ok(error instanceof KvpError && error instanceof Error)
      assert.equal(error.name, errorClass.name)
      assert.equal(error.code, code)
      assert.equal(error.message, `${code} happened`)
      assert.equal(error.field, 'f')
    }
    const timeout = new TimeoutError('ran long')
    assert.equal(timeout.code, ErrorCodes.TIMEOUT)
    assert.equal(timeout.name, 'TimeoutError')
    assert.match(String(timeout.stack), /^TimeoutError: ran long/)
  })

  it('a subclass of a user’s own keeps its own name and type', () => {
    class Mine extends KvpError {}
    const mine = new Mine(ErrorCodes.HANDLER, 'x')
    assert.ok(mine instanceof Mine)
    assert.equal(mine.name, 'Mine')
    assert.equal(mine.retryable, true)
  })

  it('the cause is kept', () => {
    const cause = new Error('socket closed')
    assert.equal(new KafkaError('connect failed', { cause }).cause, cause)
    assert.equal(new KvpError(ErrorCodes.COMMIT, 'commit failed', { cause }).cause, cause)
    assert.equal(new ConfigError('kafka.x', 'bad', cause).cause, cause)
    assert.equal(new UsageError('--x', 'bad', cause).cause, cause)
    assert.equal('cause' in new HandlerError('no cause'), false, 'no cause property when none was given')
  })

  it('ConfigError and UsageError name the field in front of the message and never retry', () => {
    const config = new ConfigError('topics[0].handler', 'expected a non-empty string')
    assert.equal(config.message, 'topics[0].handler: expected a non-empty string')
    assert.equal(config.field, 'topics[0].handler')
    assert.equal(config.code, ErrorCodes.CONFIG)
    assert.equal(config.retryable, false)
    const usage = new UsageError('--threads', "expected an integer, got 'x'")
    assert.equal(usage.message, "--threads: expected an integer, got 'x'")
    assert.equal(usage.field, '--threads')
    assert.equal(usage.code, ErrorCodes.USAGE)
    assert.ok(isKvpError(usage))
  })

  it('isErrorCode accepts the closed list only', () => {
    for (const code of Object.values(ErrorCodes)) assert.ok(isErrorCode(code), code)
    for (const other of ['KVP_NOPE', 'KVP_', 'ERR_STREAM_DESTROYED', '', 'kvp_handler', undefined, 42]) assert.equal(isErrorCode(other), false, String(other))
  })

  it('the public API exports every class under its own name', () => {
    for (const errorClass of Object.values(ErrorClasses)) assert.equal((api as Record<string, unknown>)[errorClass.name], errorClass, errorClass.name)
    assert.equal(api.KvpError, KvpError)
    assert.equal(api.ErrorCodes, ErrorCodes)
  })
})
