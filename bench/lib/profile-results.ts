import type { Category, ThreadTime } from './cpu-profile.js'
import type { machineInfo } from './machine.js'
import type { ProfiledWindow } from '../profile-target.js'

/** What `npm run bench:profile` writes to bench/results/profile.json, and the report reads. */
export interface ProfileRun extends ProfiledWindow {
  lanes: number
  main: ThreadTime
  workers: ThreadTime
}

export interface CostRow {
  category: Category
  /** The raw node-rdkafka loop's main thread, ns per message: what fetching costs without kvp. */
  raw: number
  main: { nsPerMessage: number; nsPerSlice: number }
  workers: { nsPerMessage: number; nsPerSlice: number }
}

export interface ProfileResults {
  version: 1
  startedAt: string
  machine: ReturnType<typeof machineInfo>
  scenario: string
  partitions: number
  messagesPerRun: number
  sampleIntervalUs: number
  runs: ProfileRun[]
  costs: CostRow[]
}
