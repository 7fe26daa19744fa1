/** What every benchmarked system gets and gives back. */
import type { Scenario } from '../handlers/work.js'
import type { Measurement } from '../lib/meter.js'

export interface SystemRun {
  bootstrapServers: string
  /** A fresh topic, prefilled into partition 0 with `count` messages. */
  topic: string
  /** A fresh consumer group. */
  groupId: string
  scenario: Scenario
  count: number
  /** Stop this long after the first handled message. */
  timeBoxMs: number
  onProgress: (handled: number) => void
}

export type System = (run: SystemRun) => Promise<Measurement>
