import type { ActiveFault, Engine, EngineStats, PartitionStats } from '../../src/index.js'

/** A stand-in engine for the operations server's tests: its partitions are what the test sets, its faults what it is given. */
export function fakeEngine(faults: ActiveFault[] = []): { engine: Engine; set(partitions: PartitionStats[]): void } {
  let current: PartitionStats[] = []
  const stats = (): EngineStats => ({
    partitions: current,
    totals: {
      fetched: 0,
      handled: 0,
      inFlight: 0,
      inFlightBytes: 0,
      slicesInFlight: 0,
      failures: 0,
      deadLettered: 0,
      skippedDone: 0,
      commits: 0,
      lag: current.reduce((sum, p) => sum + (p.lag ?? 0), 0),
    },
    generation: 1,
  })
  const engine: Engine = {
    bootstrapServers: 'x:1',
    stopped: new Promise(() => {}),
    polling: true,
    stats,
    stop: async () => {},
    workers: () => ({ configured: 1, alive: 1, slicesInFlight: 0, capacity: 32, threads: [] }),
    failure: undefined,
    faults: () => faults,
  }
  return { engine, set: (partitions) => (current = partitions) }
}
