import { after } from 'node:test'
import type { Engine } from '../../src/index.js'
import { useBroker } from './broker.js'
import type { TestBroker } from './broker.js'
import { committedOrZero, waitFor } from './kafka.js'
import { ensureDead } from './process.js'
import type { KvpProcess } from './process.js'
import { outputTopics, startProducingEngine } from './producing.js'
import type { OutputTopics } from './producing.js'

export interface ExactlyOnceSuite {
  readonly cluster: TestBroker
  /** `kvp run` processes the file started: each is killed, if still alive, after the file's tests. */
  readonly processes: KvpProcess[]
  /** Fresh input (with `count` records over `keys` keys), output and dead-letter topics. */
  topics(count: number, keys?: number): Promise<OutputTopics>
  /** An in-process engine in exactly-once mode over `names`, with the producing handler configured by `env`; stopped after the file's tests. */
  startExactlyOnce(names: OutputTopics, env: Record<string, string>, extra?: Record<string, unknown>): Promise<Engine>
  /** Waits until the group's committed offsets of the input reach `ends`. */
  untilCommitted(names: OutputTopics, ends: number[], timeoutMs?: number): Promise<void>
}

/** What every exactly-once test file starts with: the broker, its topics, and cleanup of what the tests started. */
export function useExactlyOnceSuite(): ExactlyOnceSuite {
  const cluster = useBroker()
  const processes: KvpProcess[] = []
  const engines: Engine[] = []
  after(async () => {
    for (const proc of processes) await ensureDead(proc)
    for (const engine of engines) await engine.stop().catch(() => {})
  })
  return {
    cluster,
    processes,
    topics: (count, keys = 200) => outputTopics(cluster.bootstrapServers, { count, keys, size: 20 }),
    async startExactlyOnce(names, env, extra = {}) {
      const engine = await startProducingEngine(cluster.bootstrapServers, names, {
        env,
        route: { retry: { maxAttempts: 3, backoffMs: 10 } },
        engine: { exactlyOnce: true, transactionIntervalMs: 200, ...extra },
      })
      engines.push(engine)
      return engine
    },
    async untilCommitted(names, ends, timeoutMs = 90_000) {
      await waitFor(
        'the committed offsets reach the end',
        async () => (await committedOrZero(cluster.bootstrapServers, names.groupId, names.input)).every((offset, p) => offset >= (ends[p] as number)),
        timeoutMs,
        250,
      )
    },
  }
}
