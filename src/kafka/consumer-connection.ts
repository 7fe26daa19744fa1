import type Kafka from 'node-rdkafka'
import { ErrorCodes, KvpError, describeError } from '../errors.js'
import { describeFault, FaultKinds } from './client-fault.js'
import type { ActiveFault } from './fault-watch.js'

/** How long connecting (the first metadata request) may take before start fails. */
export const CONNECT_TIMEOUT_MS = 15_000
/**
 * The first connect attempt waits this long for its metadata, each later one twice as long. A failed attempt returns the client
 * to a state it can be closed in, so a start that a fault fails (credentials, TLS) ends within
 * one attempt instead of leaving a client blocked in its metadata call for the whole timeout.
 */
export const CONNECT_ATTEMPT_MS = 2_000

/** What connecting reads of the faults the client reports meanwhile. */
export interface ConnectFaults {
  /** A fault that connecting cannot get past (refused credentials, TLS), once one was seen. */
  fatal(): KvpError | undefined
  /** The faults in force, oldest first: at the deadline a credentials or TLS fault is named instead of the client's own error. */
  active(): readonly ActiveFault[]
}

export interface ConnectTimes {
  timeoutMs: number
  attemptMs: number
}

type Connectable = Pick<Kafka.KafkaConsumer, 'connect'>

function attempt(consumer: Connectable, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    consumer.connect({ timeout: timeoutMs }, (err) => {
      if (err) reject(err)
      else resolve()
    })
  })
}

/**
 * Connects the consumer, in attempts of `attemptMs` (each twice as long as the one before)
 * up to `timeoutMs`. A fault that connecting cannot get past (credentials, TLS) fails the
 * start once the attempt it happened in returns (librdkafka reports it within a second
 * against a reachable broker), and a start that times out names the last such fault rather
 * than "broker transport failure".
 */
export async function connectConsumer(consumer: Connectable, faults: ConnectFaults, times: ConnectTimes = { timeoutMs: CONNECT_TIMEOUT_MS, attemptMs: CONNECT_ATTEMPT_MS }): Promise<void> {
  const deadline = Date.now() + times.timeoutMs
  // Each attempt waits twice as long as the one before: a cluster slow to answer (far away, TLS and SASL first) still gets one long try.
  for (let wait = times.attemptMs; ; wait *= 2) {
    try {
      await attempt(consumer, Math.max(1, Math.min(wait, deadline - Date.now())))
      return
    } catch (err) {
      const fatal = faults.fatal()
      if (fatal !== undefined) throw fatal
      if (Date.now() >= deadline) {
        const fault = faults.active().find((f) => f.kind === FaultKinds.AUTHENTICATION || f.kind === FaultKinds.TLS)
        if (fault) throw new KvpError(fault.code, describeFault(fault), { cause: err, retryable: false })
        throw new KvpError(ErrorCodes.KAFKA, `could not connect the consumer within ${times.timeoutMs} ms: ${describeError(err).message}`, { cause: err })
      }
    }
  }
}

/** Disconnects the consumer, if it is connected; never fails. */
export function disconnectConsumer(consumer: Pick<Kafka.KafkaConsumer, 'isConnected' | 'disconnect'>): Promise<void> {
  return new Promise((resolve) => {
    if (!consumer.isConnected()) {
      resolve()
      return
    }
    consumer.disconnect(() => resolve())
  })
}
