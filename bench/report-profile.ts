/** The "Where the time goes" part of docs/benchmarks.md, from `npm run bench:profile` (bench/results/profile.json). */
import { busyTotal } from './lib/cpu-profile.js'
import { markdownTable } from './lib/format.js'
import type { ProfileResults } from './lib/profile-results.js'

function ns(value: number): string {
  return value < 0.5 ? '–' : Math.round(value).toLocaleString('en-US')
}

export function profileSection(profile: ProfileResults | null): string[] {
  const out: string[] = ['## Where the time goes', '']
  if (profile === null) return [...out, 'Not run yet: `npm run bench:profile`.', '']
  const kvpRuns = profile.runs.filter((run) => run.lanes > 0)
  const rawRuns = profile.runs.filter((run) => run.lanes === 0)
  out.push(
    `\`npm run bench:profile\`, ${profile.startedAt}, ${profile.machine.cpus} × ${profile.machine.cpuModel}, Node ${profile.machine.node}:`,
    `kvp with the \`${profile.scenario}\` handler on 2 threads drains ${profile.messagesPerRun.toLocaleString('en-US')} messages from ${profile.partitions} partitions of the embedded cluster,`,
    `at each lane count, in a process under \`node --cpu-prof\` (every thread profiled, a sample each ${profile.sampleIntervalUs} µs).`,
    'Each profile is cut to the window from the first fetched to the last handled message, and its self time summed by',
    'what the code does (a builtin or native frame counts for the kvp frame that called it). More lanes cut the same',
    'messages into more, smaller slices, so a least-squares fit of `time = a × messages + b × slices` over the runs',
    'splits every cost into a part per message (a) and a part per slice (b). The raw node-rdkafka loop of the',
    'throughput baseline is profiled the same way, for what fetching costs with no engine at all.',
    '',
  )
  out.push(
    markdownTable(
      ['run', 'messages', 'slices', 'msg / slice', 'seconds', 'main thread busy', 'workers busy (2 threads)'],
      profile.runs.map((run) => {
        const seconds = (run.toUs - run.fromUs) / 1e6
        const busy = (time: { idleUs: number }, total: number) => `${Math.round((100 * total) / Math.max(1, total + time.idleUs))}%`
        return [
          run.lanes === 0 ? 'raw loop' : `kvp ${run.lanes} lanes`,
          run.messages.toLocaleString('en-US'),
          run.slices.toLocaleString('en-US'),
          run.slices === 0 ? '–' : (run.messages / run.slices).toFixed(1),
          seconds.toFixed(2),
          busy(run.main, busyTotal(run.main)),
          run.lanes === 0 ? '–' : busy(run.workers, busyTotal(run.workers)),
        ]
      }),
    ),
    '',
  )
  const total = { raw: 0, mainMessage: 0, mainSlice: 0, workerMessage: 0, workerSlice: 0 }
  const rows = profile.costs.map((row) => {
    total.raw += row.raw
    total.mainMessage += row.main.nsPerMessage
    total.mainSlice += row.main.nsPerSlice
    total.workerMessage += row.workers.nsPerMessage
    total.workerSlice += row.workers.nsPerSlice
    return [row.category, ns(row.raw), ns(row.main.nsPerMessage), ns(row.main.nsPerSlice), ns(row.workers.nsPerMessage), ns(row.workers.nsPerSlice)]
  })
  rows.push(['**total**', ns(total.raw), ns(total.mainMessage), ns(total.mainSlice), ns(total.workerMessage), ns(total.workerSlice)])
  out.push(markdownTable(['cost', 'raw loop, ns / message', 'main thread, ns / message', 'main thread, ns / slice', 'workers, ns / message', 'workers, ns / slice'], rows), '')
  const widest = kvpRuns.reduce((best, run) => (run.lanes > (best?.lanes ?? 0) ? run : best), kvpRuns[0])
  if (widest !== undefined && widest.slices > 0) {
    const perSlice = total.mainSlice / (widest.messages / widest.slices)
    out.push(
      `At ${widest.lanes} lanes a slice carries ${(widest.messages / widest.slices).toFixed(1)} messages, so the per-slice part adds ${ns(perSlice)} ns to each message on the main thread,`,
      `beside ${ns(total.mainMessage)} ns per message of its own${rawRuns.length > 0 ? ` (the raw loop: ${ns(total.raw)} ns per message, nearly all of it node-rdkafka's C++ turning librdkafka's messages into JS objects, which shows as unattributed native time)` : ''}.`,
      '',
    )
  }
  return out
}
