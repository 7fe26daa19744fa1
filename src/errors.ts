import { secrets } from './config/redaction.js'

/**
 * kvp's errors. `code` is stable and drawn from the closed list below; each code has one
 * class (`HandlerError` is `KVP_HANDLER`, ...) with a static `code` and `canRetry` (whether
 * another attempt can help, unless an error says otherwise in `retryable`), so callers
 * branch on the type (`error instanceof TimeoutError`) or on the code.
 */
export const ErrorCodes = {
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
  /** The broker refused the credentials. */
  AUTHENTICATION: 'KVP_AUTHENTICATION',
  /** The principal lacks an ACL for a topic, the group or the transactional id. */
  AUTHORIZATION: 'KVP_AUTHORIZATION',
  /** The TLS handshake failed (an untrusted certificate, another host name). */
  TLS: 'KVP_TLS',
  /** A batch uses a compression codec the build lacks. */
  CODEC: 'KVP_CODEC',
  /** A batch could not be decompressed or parsed. */
  CORRUPT_BATCH: 'KVP_CORRUPT_BATCH',
  /** A topic does not exist. */
  UNKNOWN_TOPIC: 'KVP_UNKNOWN_TOPIC',
  /** kvp broke one of its own rules (a bug to report): bytes it wrote read back short, a lane asked for a message it lacks. */
  INTERNAL: 'KVP_INTERNAL',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes))

/** True for a code of the closed list (a code read off the wire is checked here before it is trusted). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value)
}

export interface KvpErrorOptions {
  cause?: unknown
  /** Whether another attempt can help; the code's `canRetry` when not given. */
  retryable?: boolean
  /** For configuration errors: the option path that was wrong, e.g. `topics[0].handler`. */
  field?: string
}

/** The class of each code, set once every class is defined (below). */
let classes: Readonly<Record<ErrorCode, KvpErrorClass>> | undefined

export class KvpError extends Error {
  /** The code of this class's errors; the base class has none of its own. */
  static readonly code: ErrorCode | undefined = undefined
  /** Whether another attempt can help an error of this class. */
  static readonly canRetry: boolean = false

  readonly code: ErrorCode
  readonly retryable: boolean
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, options: KvpErrorOptions = {}) {
    // No secret value kvp was given appears in an error it reports.
    super(secrets.redact(message), options.cause === undefined ? undefined : { cause: options.cause })
    const typed = classes?.[code]
    // `new KvpError(code, ...)` is an error of the code's class, so `instanceof` agrees with
    // `code` wherever the error was made (a subclass's constructor only fills in its code, and
    // ConfigError's and UsageError's the field in front of the message).
    if (new.target === KvpError && typed !== undefined) Object.setPrototypeOf(this, typed.prototype)
    this.name = new.target === KvpError && typed !== undefined ? typed.name : new.target.name
    this.code = code
    this.retryable = options.retryable ?? typed?.canRetry ?? false
    this.field = options.field
  }
}

/** What every class of the closed list has: its code, whether it can be retried, a constructor. */
export interface KvpErrorClass {
  readonly name: string
  readonly code: ErrorCode
  readonly canRetry: boolean
  readonly prototype: KvpError
}

/** A wrong or missing option. `field` names it; the message says what was expected. */
export class ConfigError extends KvpError {
  static override readonly code = ErrorCodes.CONFIG
  static override readonly canRetry = false

  constructor(field: string, message: string, cause?: unknown) {
    super(ConfigError.code, `${field}: ${message}`, { field, cause, retryable: false })
  }
}

/** A wrong command line: `field` names the flag, and the message starts with it. */
export class UsageError extends KvpError {
  static override readonly code = ErrorCodes.USAGE
  static override readonly canRetry = false

  constructor(flag: string, message: string, cause?: unknown) {
    super(UsageError.code, `${flag}: ${message}`, { field: flag, cause, retryable: false })
  }
}

/** A handler threw or rejected. */
export class HandlerError extends KvpError {
  static override readonly code = ErrorCodes.HANDLER
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(HandlerError.code, message, options)
  }
}

/** A handler module could not be loaded, or exports no function. */
export class HandlerLoadError extends KvpError {
  static override readonly code = ErrorCodes.HANDLER_LOAD
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(HandlerLoadError.code, message, options)
  }
}

/** A handler call ran past handlerTimeoutMs. */
export class TimeoutError extends KvpError {
  static override readonly code = ErrorCodes.TIMEOUT
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(TimeoutError.code, message, options)
  }
}

/** Bytes could not be decoded (a payload, a committed offset map): another attempt reads the same bytes. */
export class DecodeError extends KvpError {
  static override readonly code = ErrorCodes.DECODE
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(DecodeError.code, message, options)
  }
}

/** A partitioner function threw. */
export class PartitionerError extends KvpError {
  static override readonly code = ErrorCodes.PARTITIONER
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(PartitionerError.code, message, options)
  }
}

/** A worker thread died with slices in flight. */
export class WorkerCrashError extends KvpError {
  static override readonly code = ErrorCodes.WORKER_CRASH
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(WorkerCrashError.code, message, options)
  }
}

/** A message could not be written to its dead-letter topic. */
export class DeadLetterError extends KvpError {
  static override readonly code = ErrorCodes.DEAD_LETTER
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(DeadLetterError.code, message, options)
  }
}

/** A Kafka client call failed (connect, metadata, a produce, a seek). */
export class KafkaError extends KvpError {
  static override readonly code = ErrorCodes.KAFKA
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(KafkaError.code, message, options)
  }
}

/** A record a handler produced (ctx.produce()) was refused or not delivered. */
export class ProduceError extends KvpError {
  static override readonly code = ErrorCodes.PRODUCE
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(ProduceError.code, message, options)
  }
}

/** Exactly-once: a transaction could not be begun, committed or aborted. */
export class TransactionError extends KvpError {
  static override readonly code = ErrorCodes.TRANSACTION
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(TransactionError.code, message, options)
  }
}

/** An offset commit failed. */
export class CommitError extends KvpError {
  static override readonly code = ErrorCodes.COMMIT
  static override readonly canRetry = true

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(CommitError.code, message, options)
  }
}

/** The engine stopped before the work was done. */
export class StoppedError extends KvpError {
  static override readonly code = ErrorCodes.STOPPED
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(StoppedError.code, message, options)
  }
}

/** The broker refused the credentials. */
export class AuthenticationError extends KvpError {
  static override readonly code = ErrorCodes.AUTHENTICATION
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(AuthenticationError.code, message, options)
  }
}

/** The principal lacks an ACL for a topic, the group or the transactional id. */
export class AuthorizationError extends KvpError {
  static override readonly code = ErrorCodes.AUTHORIZATION
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(AuthorizationError.code, message, options)
  }
}

/** The TLS handshake failed (an untrusted certificate, another host name). */
export class TlsError extends KvpError {
  static override readonly code = ErrorCodes.TLS
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(TlsError.code, message, options)
  }
}

/** A batch uses a compression codec the build lacks. */
export class CodecError extends KvpError {
  static override readonly code = ErrorCodes.CODEC
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(CodecError.code, message, options)
  }
}

/** A batch could not be decompressed or parsed. */
export class CorruptBatchError extends KvpError {
  static override readonly code = ErrorCodes.CORRUPT_BATCH
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(CorruptBatchError.code, message, options)
  }
}

/** A topic does not exist. */
export class UnknownTopicError extends KvpError {
  static override readonly code = ErrorCodes.UNKNOWN_TOPIC
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(UnknownTopicError.code, message, options)
  }
}

/** kvp broke one of its own rules: a bug to report, which another attempt does not fix. */
export class InternalError extends KvpError {
  static override readonly code = ErrorCodes.INTERNAL
  static override readonly canRetry = false

  constructor(message: string, options: KvpErrorOptions = {}) {
    super(InternalError.code, message, options)
  }
}

/** The class of each code: the list is closed, so a code without a class does not compile. */
export const ErrorClasses: Readonly<Record<ErrorCode, KvpErrorClass>> = Object.freeze({
  [ErrorCodes.CONFIG]: ConfigError,
  [ErrorCodes.USAGE]: UsageError,
  [ErrorCodes.HANDLER]: HandlerError,
  [ErrorCodes.HANDLER_LOAD]: HandlerLoadError,
  [ErrorCodes.TIMEOUT]: TimeoutError,
  [ErrorCodes.DECODE]: DecodeError,
  [ErrorCodes.PARTITIONER]: PartitionerError,
  [ErrorCodes.WORKER_CRASH]: WorkerCrashError,
  [ErrorCodes.DEAD_LETTER]: DeadLetterError,
  [ErrorCodes.KAFKA]: KafkaError,
  [ErrorCodes.PRODUCE]: ProduceError,
  [ErrorCodes.TRANSACTION]: TransactionError,
  [ErrorCodes.COMMIT]: CommitError,
  [ErrorCodes.STOPPED]: StoppedError,
  [ErrorCodes.AUTHENTICATION]: AuthenticationError,
  [ErrorCodes.AUTHORIZATION]: AuthorizationError,
  [ErrorCodes.TLS]: TlsError,
  [ErrorCodes.CODEC]: CodecError,
  [ErrorCodes.CORRUPT_BATCH]: CorruptBatchError,
  [ErrorCodes.UNKNOWN_TOPIC]: UnknownTopicError,
  [ErrorCodes.INTERNAL]: InternalError,
})
classes = ErrorClasses

export function isKvpError(value: unknown): value is KvpError {
  return value instanceof KvpError
}

/** A short, single-line description of anything thrown, for logs and acks. */
export function describeError(value: unknown): { message: string; code: string; stack: string } {
  if (value instanceof Error) {
    const raw: unknown = (value as { code?: unknown }).code
    const code = typeof raw === 'string' ? raw : ''
    return { message: value.message || value.name, code, stack: value.stack ?? '' }
  }
  return { message: String(value), code: '', stack: '' }
}
