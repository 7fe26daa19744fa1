/**
 * kvp: the partition's messages split by key into `virtualPartitions.lanes` lanes (the engine's
 * default distribution unless a setup names one) and handled on `threads` worker threads.
 */
import type { Distribution } from '../../src/config/options.js'
import { DEFAULT_DISTRIBUTION } from '../../src/config/schema.js'
import { handlerUrl } from '../lib/handlers.js'
import { startEngine } from '../../src/index.js'
import { pollHandled } from '../lib/poll-handled.js'
import { ThroughputMeter, type Measurement } from '../lib/meter.js'
import type { System } from './system.js'

export interface KvpSetup {
  maxPartitions: number
  threads: number
  /** Slices one worker runs at once; enough for every lane to have one in flight. */
  concurrencyPerThread: number
  /** How keys map to lanes; absent: the engine's default. */
  distribution?: Distribution
}

/** `partitions`: the topic's; each of them is split into `virtualPartitions.lanes` lanes. */
export function kvpSetup(maxPartitions: number, threads: number, partitions = 1, distribution?: Distribution): KvpSetup {
  const setup: KvpSetup = { maxPartitions, threads, concurrencyPerThread: Math.max(8, Math.ceil((maxPartitions * partitions) / threads)) }
  return distribution === undefined ? setup : { ...setup, distribution }
}

export function kvpSystem(setup: KvpSetup): System {
  return async (run): Promise<Measurement> => {
    const meter = new ThroughputMeter({ target: run.count, timeBoxMs: run.timeBoxMs, onProgress: run.onProgress })
    const engine = await startEngine({
      brokers: run.bootstrapServers,
      groupId: run.groupId,
      topics: [
        {
          topic: run.topic,
          handler: handlerUrl(run.scenario),
          virtualPartitions: { lanes: setup.maxPartitions, distribution: setup.distribution ?? DEFAULT_DISTRIBUTION },
        },
      ],
      threads: setup.threads,
      concurrencyPerThread: setup.concurrencyPerThread,
      revokeTimeoutMs: 2000,
      fromBeginning: true,
      kafka: { 'session.timeout.ms': 6000 },
    })
    try {
      await pollHandled(engine, (handled) => {
        if (meter.observe(handled)) return true
        meter.checkStall('kvp')
        return false
      })
      return meter.result()
    } finally {
      await engine.stop()
    }
  }
}
