/** A small, honest timer for micro-benchmarks: warm up, then the best of several timed rounds. */

export interface TimedCase {
  /** Runs the measured work once; returns how many messages it covered and something to keep alive. */
  run(): { messages: number; sink: number }
}

const WARMUP_MS = 200
const ROUND_MS = 150
const ROUNDS = 7

/** Dead-code elimination guard: every case's result flows into this. */
export let sink = 0

/** Nanoseconds per message: the best of ROUNDS rounds of ~ROUND_MS each, after a warm-up. */
export function nsPerMessage(timed: TimedCase): number {
  spin(timed, WARMUP_MS)
  let best = Infinity
  for (let round = 0; round < ROUNDS; round++) {
    const { ns, messages } = spin(timed, ROUND_MS)
    best = Math.min(best, ns / messages)
  }
  return best
}

function spin(timed: TimedCase, forMs: number): { ns: number; messages: number } {
  const start = process.hrtime.bigint()
  const until = start + BigInt(forMs) * 1_000_000n
  let messages = 0
  let now = start
  do {
    const result = timed.run()
    messages += result.messages
    sink = (sink + result.sink) | 0
    now = process.hrtime.bigint()
  } while (now < until)
  return { ns: Number(now - start), messages }
}
