import Kafka from 'node-rdkafka'
import { type ErrorCode, ErrorCodes } from '../errors.js'

const E = Kafka.CODES.ERRORS

/** What kind of problem stops progress. Each has its own error code. */
export const FaultKinds = {
  /** A batch uses a compression codec this build of librdkafka lacks. */
  CODEC: 'codec',
  /** librdkafka could not decompress or parse a batch. */
  CORRUPT_BATCH: 'corrupt-batch',
  /** The broker refused the credentials (SASL). */
  AUTHENTICATION: 'authentication',
  /** The broker refused an operation: the principal lacks an ACL. */
  AUTHORIZATION: 'authorization',
  /** The TLS handshake failed: a certificate was not trusted or names another host. */
  TLS: 'tls',
  /** A subscribed or produced-to topic does not exist. */
  UNKNOWN_TOPIC: 'unknown-topic',
} as const
export type FaultKind = (typeof FaultKinds)[keyof typeof FaultKinds]

const CODE_OF: Record<FaultKind, ErrorCode> = {
  codec: ErrorCodes.CODEC,
  'corrupt-batch': ErrorCodes.CORRUPT_BATCH,
  authentication: ErrorCodes.AUTHENTICATION,
  authorization: ErrorCodes.AUTHORIZATION,
  tls: ErrorCodes.TLS,
  'unknown-topic': ErrorCodes.UNKNOWN_TOPIC,
}

/** A client error that stops progress, in plain words: what happened, where, and what to do. */
export interface ClientFault {
  kind: FaultKind
  code: ErrorCode
  /** Where, when librdkafka says. */
  topic?: string
  partition?: number
  offset?: number
  /** What went wrong, in plain words. */
  cause: string
  /** What to do about it. */
  fix: string
  /** librdkafka's own text. */
  detail: string
  /** Only a change of kvp's build or settings can fix it (a missing codec): kvp stops. */
  permanent: boolean
  /** Which client met it: the consumer's fetches, a client's connection, or a producer's write. */
  origin: FaultOrigin
}

/** Where an error came from: the consumer's fetches, the client's background threads, a producer's write. */
export type FaultOrigin = 'consume' | 'client' | 'produce'

export interface FaultContext {
  origin: FaultOrigin
  /** The consumer group, for authorization messages. */
  groupId?: string
  /** librdkafka's builtin.features. */
  features?: readonly string[]
  /** The topic a producer wrote to, when the error does not say. */
  topic?: string
}

interface RawError {
  code?: unknown
  message?: unknown
  topic?: unknown
  partition?: unknown
  offset?: unknown
}

/**
 * Reads a librdkafka error (a consume error, an `event.error`, a delivery report) and says
 * whether it stops progress, and why in plain words. Returns undefined for the errors that
 * are transient (a broker restarting, a timeout): librdkafka retries those by itself.
 */
export function classifyClientError(error: unknown, context: FaultContext): ClientFault | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const raw = error as RawError
  const code = typeof raw.code === 'number' ? raw.code : undefined
  const detail = typeof raw.message === 'string' ? raw.message : ''
  const where = location(raw, context)
  const at = describeWhere(where)
  const make = (kind: FaultKind, cause: string, fix: string, permanent = false): ClientFault => ({ kind, code: CODE_OF[kind], ...where, cause, fix, detail, permanent, origin: context.origin })

  if (code === E.ERR__NOT_IMPLEMENTED || code === E.ERR_UNSUPPORTED_COMPRESSION_TYPE || /unsupported compression codec/i.test(detail)) {
    const features = context.features?.join(',') ?? 'unknown'
    return make(
      FaultKinds.CODEC,
      `a batch${at} is compressed with a codec this build of librdkafka does not have (builtin.features: ${features})`,
      'reinstall kvp so that its postinstall builds librdkafka with every codec (npm ci; `kvp --version` must list zstd), then restart: the batch is read again from the committed offset',
      true,
    )
  }
  if (code === E.ERR__BAD_COMPRESSION || code === E.ERR__BAD_MSG || code === E.ERR_INVALID_RECORD) {
    return make(
      FaultKinds.CORRUPT_BATCH,
      `librdkafka could not decompress or parse a batch${at}; the partition stops there and nothing past it is committed`,
      "inspect the batch with the broker's tools (kafka-dump-log); if it is lost for good, move the group's offset past it (kafka-consumer-groups --reset-offsets --to-offset) and restart",
    )
  }
  // node-rdkafka's error events carry no code (-1) and a lower-cased summary; librdkafka's FAIL log line says more: both are read.
  if (
    code === E.ERR__AUTHENTICATION ||
    code === E.ERR_SASL_AUTHENTICATION_FAILED ||
    code === E.ERR_UNSUPPORTED_SASL_MECHANISM ||
    code === E.ERR_ILLEGAL_SASL_STATE ||
    /SASL authentication error|^authentication failure$/i.test(detail)
  ) {
    return make(
      FaultKinds.AUTHENTICATION,
      `the broker refused kvp's credentials (${sasl(detail)})`,
      'check sasl.username and sasl.password (a SCRAM user must exist on the broker) and that sasl.mechanisms is one the listener enables',
    )
  }
  if (code === E.ERR__SSL || /SSL handshake failed|certificate verify failed|alert bad certificate|alert certificate required/i.test(detail)) {
    return make(FaultKinds.TLS, tlsCause(detail), tlsFix(detail))
  }
  if (code === E.ERR_TOPIC_AUTHORIZATION_FAILED || /^topic authorization failed$|Broker: Topic authorization failed/i.test(detail)) {
    const topic = where.topic === undefined ? 'the topic' : `topic '${where.topic}'`
    const needs = context.origin === 'produce' ? 'WRITE (and DESCRIBE)' : 'READ and DESCRIBE'
    return make(
      FaultKinds.AUTHORIZATION,
      `kvp's principal is not allowed to ${context.origin === 'produce' ? 'write to' : 'read'} ${topic}`,
      `grant the principal ${needs} on ${topic} (kafka-acls --add --allow-principal User:NAME --operation ${context.origin === 'produce' ? 'Write' : 'Read'} --topic ...)`,
    )
  }
  if (code === E.ERR_GROUP_AUTHORIZATION_FAILED) {
    const group = context.groupId === undefined ? 'its consumer group' : `consumer group '${context.groupId}'`
    return make(
      FaultKinds.AUTHORIZATION,
      `kvp's principal is not allowed to use ${group}`,
      `grant the principal READ on ${group} (kafka-acls --add --allow-principal User:NAME --operation Read --group ...)`,
    )
  }
  if (code === E.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED) {
    return make(
      FaultKinds.AUTHORIZATION,
      "kvp's principal is not allowed to use its transactional id",
      'grant the principal WRITE and DESCRIBE on the transactional id (kafka-acls --transactional-id ...)',
    )
  }
  if (code === E.ERR_CLUSTER_AUTHORIZATION_FAILED || /^cluster authorization failed$/i.test(detail)) {
    if (context.origin === 'produce') {
      return make(
        FaultKinds.AUTHORIZATION,
        "kvp's producer may not write: an idempotent producer needs WRITE on at least one topic (or IDEMPOTENT_WRITE on the cluster) before it may start, and WRITE on each topic it writes to",
        'grant the principal WRITE and DESCRIBE on the output and dead-letter topics (kafka-acls --add --allow-principal User:NAME --operation Write --topic ...); kvp retries with a new producer',
      )
    }
    return make(FaultKinds.AUTHORIZATION, "kvp's principal is not allowed a cluster operation", 'grant the principal the cluster operation the broker log names')
  }
  if (code === E.ERR_UNKNOWN_TOPIC_OR_PART || code === E.ERR__UNKNOWN_TOPIC || code === E.ERR__UNKNOWN_PARTITION) {
    // A partition that moved or a fetch during a leader election says this too: only a topic missing from a subscription or a produce is a fault.
    if (where.topic === undefined) return undefined
    return make(
      FaultKinds.UNKNOWN_TOPIC,
      `topic '${where.topic}' does not exist (or the principal may not DESCRIBE it)`,
      `create topic '${where.topic}', or correct the topic name; kvp picks it up once it exists`,
    )
  }
  return undefined
}

function location(raw: RawError, context: FaultContext): Pick<ClientFault, 'topic' | 'partition' | 'offset'> {
  const where: Pick<ClientFault, 'topic' | 'partition' | 'offset'> = {}
  // A log line names its topic in librdkafka's words: "... to topic orders [0] ...".
  const logged = typeof raw.message === 'string' ? /\btopic (\S+) \[\d+\]/.exec(raw.message)?.[1] : undefined
  const topic = typeof raw.topic === 'string' && raw.topic !== '' ? raw.topic : (context.topic ?? logged)
  if (topic !== undefined) where.topic = topic
  // A topic-level error (a subscription's) carries no offset, and its partition means nothing.
  if (typeof raw.offset === 'number' && raw.offset >= 0) {
    where.offset = raw.offset
    if (typeof raw.partition === 'number' && raw.partition >= 0) where.partition = raw.partition
  }
  return where
}

function describeWhere(where: Pick<ClientFault, 'topic' | 'partition' | 'offset'>): string {
  if (where.topic === undefined) return ''
  let text = ` of ${where.topic}`
  if (where.partition !== undefined) text += `[${where.partition}]`
  if (where.offset !== undefined) text += ` at offset ${where.offset}`
  return text
}

/** The mechanism and state librdkafka names, without its retry counters. */
function sasl(detail: string): string {
  const mechanism = /SASL mechanism (\S+)/.exec(detail)?.[1]
  return mechanism === undefined ? 'SASL authentication failed' : `SASL ${mechanism} authentication failed`
}

/** librdkafka could not load a TLS file it was given (not a handshake failure, whose text names ssl.ca.location as advice). */
const TLS_FILE_ERROR = /No such file|ssl\.(ca|certificate|key)\.location failed|failed to (load|read)/i

function tlsCause(detail: string): string {
  if (/hostname mismatch|does not match|IP address mismatch|X509_V_ERR_(HOSTNAME|IP_ADDRESS)_MISMATCH/i.test(detail)) {
    return "the broker's certificate is for another host name than the one kvp connected to"
  }
  if (/certificate verify failed|could not be verified|unable to get (local )?issuer|self.signed/i.test(detail)) {
    return "the broker's certificate could not be verified: it is not signed by a CA kvp trusts, or it names another host"
  }
  if (TLS_FILE_ERROR.test(detail)) return 'a TLS file in the settings could not be read'
  if (/alert bad certificate|alert certificate required/i.test(detail)) return "the broker refused kvp's client certificate, or wants one and got none (mutual TLS)"
  if (/alert|handshake/i.test(detail)) return 'the TLS handshake with the broker failed (the broker may require a client certificate, or speak plaintext on this port)'
  return 'a TLS error stopped the connection to the broker'
}

function tlsFix(detail: string): string {
  if (TLS_FILE_ERROR.test(detail)) return 'check that each ssl.*.location names a readable PEM file'
  if (/alert bad certificate|alert certificate required/i.test(detail)) return 'set ssl.certificate.location and ssl.key.location to a client certificate signed by a CA the broker trusts'
  return "set ssl.ca.location to the PEM file of the CA that signed the broker's certificate, and connect with a host name (or IP) the certificate names; ssl.endpoint.identification.algorithm=none turns the host check off (not for production)"
}

/** One line for a log or an error: the cause, librdkafka's own words, the fix. */
export function describeFault(fault: ClientFault): string {
  return `${fault.cause} (librdkafka: ${fault.detail || 'no detail'}). Fix: ${fault.fix}`
}
