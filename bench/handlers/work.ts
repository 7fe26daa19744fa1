/**
 * The per-message work every benchmarked system runs, so that only the way messages reach
 * it differs. kvp calls it through the handler modules next to this file; the baselines
 * import those same modules and call them directly.
 */
import { createHash } from 'node:crypto'

export const Scenarios = ['io', 'cpu', 'noop'] as const
export type Scenario = (typeof Scenarios)[number]

/**
 * sha256 rounds per `cpu` message. A fixed count, not a time budget, so every system does
 * exactly the same work; 110 rounds over a ~90-byte value take about 200 µs on a 2020s
 * server core. `run.ts` measures and reports what they take on the machine at hand.
 */
export const CPU_ROUNDS = 110

const EMPTY = new Uint8Array(0)

/** The shape every system's message has in common (node-rdkafka, KafkaJS, kvp). */
export interface BenchMessage {
  value: Uint8Array | null | undefined
}

/** `io`: a 1 ms await, standing in for an HTTP call or a database write. */
export function ioWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1))
}

/** `cpu`: CPU_ROUNDS chained sha256 digests of the value. Returns the last digest's first byte. */
export function cpuWork(value: Uint8Array | null | undefined): number {
  let digest: Uint8Array = value ?? EMPTY
  for (let round = 0; round < CPU_ROUNDS; round++) {
    digest = createHash('sha256').update(digest).digest()
  }
  return digest[0] ?? 0
}

/** `noop`: nothing; measures the transport alone. */
export function noopWork(): void {}
