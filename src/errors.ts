import { secrets } from './config/redaction.js'

/**
 * One error type for everything kvp reports. `code` is stable and drawn from a closed
 * list; `retryable` tells the error policy whether another attempt can help.
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
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.HANDLER,
  ErrorCodes.TIMEOUT,
  ErrorCodes.WORKER_CRASH,
  ErrorCodes.DEAD_LETTER,
  ErrorCodes.KAFKA,
  ErrorCodes.COMMIT,
  ErrorCodes.PRODUCE,
])

export interface KvpErrorOptions {
  cause?: unknown
  retryable?: boolean
  /** For configuration errors: the option path that was wrong, e.g. `topics[0].handler`. */
  field?: string
}

export class KvpError extends Error {
  readonly code: ErrorCode
  readonly retryable: boolean
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, options: KvpErrorOptions = {}) {
    // No secret value kvp was given appears in an error it reports.
    super(secrets.redact(message), options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'KvpError'
    this.code = code
    this.retryable = options.retryable ?? RETRYABLE.has(code)
    this.field = options.field
  }
}

/** A wrong or missing option. `field` names it; the message says what was expected. */
export class ConfigError extends KvpError {
  constructor(field: string, message: string, cause?: unknown) {
    super(ErrorCodes.CONFIG, `${field}: ${message}`, { field, cause, retryable: false })
    this.name = 'ConfigError'
  }
}

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
