/** Exponential backoff with equal jitter: delay ∈ [d/2, d], d = min(max, base·2^(attempt-1)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (baseMs <= 0) return 0
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

export type FailureOutcome = 'retry' | 'dead-letter'

/**
 * What happens to a message whose handler failed on attempt `attempt`.
 * Undecodable payloads cannot get better: they go straight to the dead-letter topic.
 * Without a dead-letter topic a message is retried for ever: it blocks its lane, never
 * the others, and is never skipped.
 */
export function failureOutcome(attempt: number, maxAttempts: number, hasDeadLetter: boolean, code: string): FailureOutcome {
  if (!hasDeadLetter) return 'retry'
  if (code === 'KVP_DECODE') return 'dead-letter'
  return attempt >= maxAttempts ? 'dead-letter' : 'retry'
}
