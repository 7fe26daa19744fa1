/** What every benchmarked system gets and gives back. */
import type { Scenario } from '../handlers/work.js'
import type { Measurement } from '../lib/meter.js'

export interface SystemRun {
  bootstrapServers: string
  /**
   * The topic, read from the beginning: on the embedded cluster a fresh one prefilled into
   * partition 0, on a real broker the partition count's shared one. Either way it holds `count` messages.
   */
  topic: string
  /** A fresh consumer group: no committed offsets, so every system starts at the first message. */
  groupId: string
  scenario: Scenario
  count: number
  /** Stop this long after the first handled message. */
  timeBoxMs: number
  onProgress: (handled: number) => void
}

export type System = (run: SystemRun) => Promise<Measurement>
