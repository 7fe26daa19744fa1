/**
 * Per-thread scheduler statistics of this process, from Linux's
 * /proc/self/task/<tid>/schedstat: CPU time, time spent runnable but waiting for a core,
 * and how many times the thread got one. A worker that wakes for a timer and finds both
 * cores busy waits there before its callbacks run, which shows up as a 1 ms timer taking
 * longer in a worker than one at a time. Null off Linux.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface ThreadClock {
  name: string
  cpuNs: number
  waitNs: number
  runs: number
}

/** Every thread of this process by its tid, or null where /proc is missing. */
export function threadClocks(): Map<string, ThreadClock> | null {
  let tids: string[]
  try {
    tids = readdirSync('/proc/self/task')
  } catch {
    return null
  }
  const clocks = new Map<string, ThreadClock>()
  for (const tid of tids) {
    try {
      const [cpuNs, waitNs, runs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number)
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()
      clocks.set(tid, { name, cpuNs: cpuNs ?? 0, waitNs: waitNs ?? 0, runs: runs ?? 0 })
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return clocks
}

/** What a set of threads did over a window, per thread on average. */
export interface ThreadWaits {
  threads: number
  /** Times each thread got a core, per second. */
  runsPerSecond: number
  /** Time runnable but waiting for a core, per run, in ms. */
  waitMsPerRun: number
  /** CPU time per run, in ms. */
  cpuMsPerRun: number
}

/** The threads of `after` that `pick` selects, measured against `before` over `seconds`. */
export function threadWaits(before: Map<string, ThreadClock>, after: Map<string, ThreadClock>, seconds: number, pick: (tid: string, clock: ThreadClock) => boolean): ThreadWaits {
  let threads = 0
  let cpuNs = 0
  let waitNs = 0
  let runs = 0
  for (const [tid, end] of after) {
    const start = before.get(tid)
    if (start === undefined || !pick(tid, end)) continue
    threads++
    cpuNs += end.cpuNs - start.cpuNs
    waitNs += end.waitNs - start.waitNs
    runs += end.runs - start.runs
  }
  return {
    threads,
    runsPerSecond: threads > 0 ? runs / threads / seconds : 0,
    waitMsPerRun: runs > 0 ? waitNs / runs / 1e6 : 0,
    cpuMsPerRun: runs > 0 ? cpuNs / runs / 1e6 : 0,
  }
}
