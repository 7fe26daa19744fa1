/** Waiting on a running kvp engine's handled count (read from `engine.stats()`). */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Engine } from '../../src/index.js'

/** How often the benchmark reads `engine.stats()`: the resolution of kvp's measured span. */
export const STATS_EVERY_MS = 5

/**
 * Calls `check(handled)` every STATS_EVERY_MS with the engine's handled count until it
 * returns true; `check` may throw to give up.
 */
export async function pollHandled(engine: Engine, check: (handled: number) => boolean): Promise<void> {
  while (!check(engine.stats().totals.handled)) await sleep(STATS_EVERY_MS)
}
