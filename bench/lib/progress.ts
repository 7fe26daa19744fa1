/**
 * The progress display of `npm run bench`: an overall bar over the runs and one for the
 * run in progress. Without a terminal it prints one line per finished run instead.
 */
import cliProgress from 'cli-progress'

export interface BenchProgress {
  startRun(label: string, total: number, unit: string): void
  /** More runs than planned (a short run repeated). */
  extend(runs: number): void
  update(value: number): void
  /** Marks the current run finished, with a one-line summary. */
  finishRun(summary: string): void
  /** A line that is not a run (a topic filled, say). */
  log(line: string): void
  stop(): void
}

export function createProgress(planned: number): BenchProgress {
  let runs = planned
  const tty = process.stderr.isTTY === true
  const multibar = new cliProgress.MultiBar(
    {
      format: '{label} |{bar}| {value}/{total} {unit}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  )
  const overall = tty ? multibar.create(runs, 0, { label: 'benchmark runs'.padEnd(36), unit: 'runs' }) : undefined
  let current: cliProgress.SingleBar | undefined
  let done = 0
  return {
    startRun(label, total, unit) {
      if (!tty) return
      if (current !== undefined) multibar.remove(current)
      current = multibar.create(total, 0, { label: label.padEnd(36), unit })
    },
    update(value) {
      current?.update(value)
    },
    extend(more) {
      runs += more
      overall?.setTotal(runs)
    },
    finishRun(summary) {
      done++
      if (tty) {
        multibar.log(`${summary}\n`)
        overall?.update(done)
      } else {
        console.error(`[${done}/${runs}] ${summary}`)
      }
    },
    log(line) {
      if (tty) multibar.log(`${line}\n`)
      else console.error(line)
    },
    stop() {
      if (current !== undefined) multibar.remove(current)
      multibar.stop()
    },
  }
}
