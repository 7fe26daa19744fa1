/**
 * What a JVM peer of the benchmark (bench/peers/) says: its pom's versions, and the JSON
 * lines it prints on stdout. Pure functions, so each can be checked in a unit test.
 */
import type { Measurement } from './meter.js'

/** `started`: the JVM runs and the client is built; the versions it runs with. */
export interface PeerStarted {
  event: 'started'
  java: string
  kafkaClients: string
  /** What the `cpu` work takes per message on the JVM (it may differ from Node's for the same digests). */
  cpuMicrosPerMessage: number | null
}

/** `progress`: messages handled so far, every 100 ms. */
export interface PeerProgress {
  event: 'progress'
  handled: number
}

/** `result`: the measurement, taken the way bench/lib/meter.ts takes it, on the JVM's clock. */
export interface PeerResult {
  event: 'result'
  handled: number
  /** Messages handled at the first observation: outside the measured span, like the meter's first batch. */
  firstCount: number
  seconds: number
  timeBoxed: boolean
  startupMs: number
  /** The JVM's VmHWM; -1 where /proc does not tell. */
  peakRssKiB: number
}

export interface PeerFailure {
  event: 'error'
  message: string
}

export type PeerLine = PeerStarted | PeerProgress | PeerResult | PeerFailure

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)
const isString = (value: unknown): value is string => typeof value === 'string'

/**
 * One stdout line of a peer, or null for anything else (a library that prints to stdout,
 * a partial line, a line of the wrong shape): the benchmark ignores those.
 */
export function parsePeerLine(line: string): PeerLine | null {
  const text = line.trim()
  if (!text.startsWith('{')) return null
  let value: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null
    value = parsed as Record<string, unknown>
  } catch {
    return null
  }
  switch (value.event) {
    case 'started':
      return isString(value.java) && isString(value.kafkaClients)
        ? { event: 'started', java: value.java, kafkaClients: value.kafkaClients, cpuMicrosPerMessage: isNumber(value.cpuMicrosPerMessage) ? value.cpuMicrosPerMessage : null }
        : null
    case 'progress':
      return isNumber(value.handled) ? { event: 'progress', handled: value.handled } : null
    case 'result': {
      const { handled, firstCount, seconds, timeBoxed, startupMs, peakRssKiB } = value
      if (!isNumber(handled) || !isNumber(firstCount) || !isNumber(seconds) || typeof timeBoxed !== 'boolean' || !isNumber(startupMs)) return null
      return { event: 'result', handled, firstCount, seconds, timeBoxed, startupMs, peakRssKiB: isNumber(peakRssKiB) ? peakRssKiB : -1 }
    }
    case 'error':
      return isString(value.message) ? { event: 'error', message: value.message } : null
    default:
      return null
  }
}

/** A peer's result as the Measurement every other system returns (msg/s over the same span). */
export function peerMeasurement(result: PeerResult): Measurement {
  const measured = result.handled - result.firstCount
  return {
    handled: result.handled,
    seconds: result.seconds,
    msgPerSec: result.seconds > 0 ? measured / result.seconds : 0,
    timeBoxed: result.timeBoxed,
    startupMs: result.startupMs,
    ...(result.peakRssKiB > 0 ? { peakRssMiB: Math.round(result.peakRssKiB / 1024) } : {}),
  }
}

/** A property of the peer's pom (`<name>value</name>` in its `<properties>`), or undefined. */
export function pomProperty(pom: string, name: string): string | undefined {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const properties = /<properties>([\s\S]*?)<\/properties>/.exec(pom)?.[1] ?? ''
  return new RegExp(`<${escaped}>\\s*([^<\\s]+)\\s*</${escaped}>`).exec(properties)?.[1]
}
