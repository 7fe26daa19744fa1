/**
 * CPU over a window, in cores: the whole machine (Linux /proc/stat), this process
 * (process.cpuUsage) and its main thread (Linux /proc/self/task/<pid>/stat), beside the
 * main thread's event-loop utilization. Where /proc is missing those figures are null.
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { EventLoopUtilization } from 'node:perf_hooks'

export interface CpuWindow {
  /** Busy cores of the whole machine (broker included when it runs here), or null off Linux. */
  machineCores: number | null
  /** Cores this process used: the main thread, the workers, librdkafka's and V8's threads. */
  processCores: number
  /** Cores the main thread used, or null off Linux. */
  mainThreadCores: number | null
  /** The main thread's event-loop utilization (0–1). */
  mainLoopUtilization: number
}

/** Clock ticks per second of /proc's utime and stime: 100 on every Linux Node supports. */
const TICKS_PER_SECOND = 100

function machineTicks(): { busy: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    const fields = line.trim().split(/\s+/).slice(1).map(Number)
    // Every field but idle and iowait (the 4th and 5th) is time spent busy.
    const total = fields.reduce((sum, value) => sum + value, 0)
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0) }
  } catch {
    return null
  }
}

function mainThreadTicks(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    // The fields after the command name (which may hold spaces) in parentheses; utime and stime are the 14th and 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(rest[11]) + Number(rest[12])
  } catch {
    return null
  }
}

export class CpuMeter {
  readonly #at = performance.now()
  readonly #machine = machineTicks()
  readonly #process = process.cpuUsage()
  readonly #main = mainThreadTicks()
  readonly #loop: EventLoopUtilization = performance.eventLoopUtilization()

  /** The window from construction until now. */
  read(): CpuWindow {
    const seconds = Math.max(1e-9, (performance.now() - this.#at) / 1000)
    const machine = machineTicks()
    const main = mainThreadTicks()
    const used = process.cpuUsage(this.#process)
    return {
      machineCores: machine === null || this.#machine === null ? null : (machine.busy - this.#machine.busy) / TICKS_PER_SECOND / seconds,
      processCores: (used.user + used.system) / 1e6 / seconds,
      mainThreadCores: main === null || this.#main === null ? null : (main - this.#main) / TICKS_PER_SECOND / seconds,
      mainLoopUtilization: performance.eventLoopUtilization(this.#loop).utilization,
    }
  }
}
