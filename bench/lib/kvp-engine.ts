/** Starting kvp for a benchmark, and waiting on its handled count. */
import { setTimeout as sleep } from 'node:timers/promises'
import type { EngineOptions } from '../../src/config/options.js'
import type { EngineStats } from '../../src/stats.js'

export interface BenchEngine {
  stats(): EngineStats
  stop(): Promise<void>
}

type StartEngine = (options: EngineOptions) => Promise<BenchEngine>

// TEMPORARY: loaded by a computed specifier while src/index.ts is being written.
const ENGINE_MODULE = '../../src/index.js'

export async function startKvp(options: EngineOptions): Promise<BenchEngine> {
  const { startEngine } = (await import(ENGINE_MODULE)) as { startEngine: StartEngine }
  return startEngine(options)
}

/** How often the benchmark reads `engine.stats()`: the resolution of kvp's measured span. */
export const STATS_EVERY_MS = 5

/**
 * Calls `check(handled)` every STATS_EVERY_MS with the engine's handled count until it
 * returns true; `check` may throw to give up.
 */
export async function pollHandled(engine: BenchEngine, check: (handled: number) => boolean): Promise<void> {
  while (!check(engine.stats().totals.handled)) await sleep(STATS_EVERY_MS)
}
