/** The `--peers` part of docs/benchmarks.md: kvp beside Confluent Parallel Consumer and the baselines. */
import { Scenarios } from './handlers/work.js'
import { formatRate, formatRatio, markdownTable } from './lib/format.js'
import { bestRun, partitionCounts, rateOf, ratio, type BenchResults, type PeerInfo, type RunResult, type SystemName } from './lib/results.js'

/** The systems of the side-by-side comparison, in its column order. */
const COMPARED: ReadonlyArray<{ system: SystemName; title: string }> = [
  { system: 'kvp', title: 'kvp' },
  { system: 'parallel-consumer', title: 'Parallel Consumer' },
  { system: 'kafkajs', title: 'KafkaJS' },
  { system: 'one-at-a-time', title: 'one-at-a-time' },
  { system: 'raw', title: 'raw' },
]

export const PEER_COMPARISON_HEADER = ['scenario', 'partitions', ...COMPARED.map(({ title }) => title), 'kvp ÷ Parallel Consumer']

/** A run's msg/s and peak RSS in one cell, with the lanes (kvp) or maxConcurrency (a peer) it was best at. */
function comparedCell(run: RunResult | undefined): string {
  if (run === undefined) return '—'
  const setting = run.kvp !== null ? `, ${run.kvp.maxPartitions} lanes` : run.maxConcurrency !== undefined ? `, ${run.maxConcurrency} in flight` : ''
  const rss = run.measurement?.peakRssMiB
  return `${formatRate(rateOf(run))}${setting}${rss === undefined ? '' : ` · ${rss} MiB`}`
}

/**
 * `--peers`: per scenario and partition count, each system's best run side by side
 * (kvp over its lanes, Parallel Consumer over its maxConcurrency), throughput and peak RSS.
 */
export function peerComparisonRows(results: BenchResults): string[][] {
  const rows: string[][] = []
  for (const partitions of partitionCounts(results.runs)) {
    for (const scenario of Scenarios) {
      const runs = results.runs.filter((run) => run.scenario === scenario && run.partitions === partitions)
      if (runs.length === 0) continue
      const best = COMPARED.map(({ system }) => bestRun(runs, scenario, system))
      rows.push([scenario, String(partitions), ...best.map(comparedCell), formatRatio(ratio(best[0], best[1]))])
    }
  }
  return rows
}

export const PEER_LANES_HEADER = ['scenario', 'partitions', 'lanes = maxConcurrency', 'kvp msg/s', 'Parallel Consumer msg/s', 'kvp ÷ Parallel Consumer', 'kvp peak RSS', 'Parallel Consumer peak RSS']

/** `--peers`: kvp and Parallel Consumer at each lane count both ran with. */
export function peerLaneRows(results: BenchResults): string[][] {
  const rows: string[][] = []
  const mib = (run: RunResult | undefined): string => (run?.measurement?.peakRssMiB === undefined ? '—' : `${run.measurement.peakRssMiB} MiB`)
  for (const peerRun of results.runs) {
    if (peerRun.system !== 'parallel-consumer' || peerRun.maxConcurrency === undefined) continue
    const kvp = results.runs.find(
      (run) =>
        run.system === 'kvp' &&
        run.scenario === peerRun.scenario &&
        run.partitions === peerRun.partitions &&
        run.kvp?.maxPartitions === peerRun.maxConcurrency &&
        run.kvp?.threads === results.settings.threads,
    )
    rows.push([
      peerRun.scenario,
      String(peerRun.partitions),
      String(peerRun.maxConcurrency),
      formatRate(rateOf(kvp)),
      peerRun.error === null ? formatRate(rateOf(peerRun)) : `error: ${peerRun.error}`,
      formatRatio(ratio(kvp, peerRun)),
      mib(kvp),
      mib(peerRun),
    ])
  }
  return rows
}

/** The peers section of a broker's results: what ran, or why not, and the side-by-side tables. */
export function peersSection(results: BenchResults): string[] {
  const peers: PeerInfo[] = results.peers ?? []
  if (peers.length === 0) return []
  const out: string[] = ['### Against Parallel Consumer (`--peers`)', '']
  for (const peer of peers) {
    const what = `${peer.title} (\`${peer.artifact}:${peer.version}\`, kafka-clients ${peer.kafkaClients ?? '?'}${peer.java === null ? '' : `, Java ${peer.java}`})`
    if (peer.notRun !== null) {
      out.push(`${what}: **not run**: ${peer.notRun}`, '')
      continue
    }
    out.push(
      `${what}:`,
      'a JVM started per run (bench/peers/parallel-consumer, default JVM flags), one consumer assigned every partition',
      'of the same shared topic, read from the beginning with a fresh group, `ProcessingOrder.KEY`,',
      `\`maxConcurrency\` = kvp's lane count (${peer.maxConcurrency.join(', ')}), the same work per record (\`io\`: \`Thread.sleep(1)\`;`,
      `\`cpu\`: chained sha256 digests, as many as take the JVM as long per record as the ${results.settings.cpuRounds} of Node (${results.settings.cpuMicrosPerMessage.toFixed(0)} µs here${
        peer.cpuMicrosPerMessage == null ? '' : `; the JVM's: ${peer.cpuMicrosPerMessage.toFixed(0)} µs`
      }): the JVM hashes far faster, and the same round count would compare the runtimes' sha256, not the consumers; \`noop\`: nothing). It measures itself as the meter here does, on`,
      'its own clock: from the first handled record to the last, stopped by the same time box, its handled count looked at every',
      "5 ms. Its peak RSS is its own process's VmHWM. The Node systems run inside the benchmark's process, so theirs is that",
      "process's highest resident set sampled every 100 ms during the run: everything the benchmark holds is in it too, so it",
      'is an upper bound (`npm run bench:memory` measures kvp alone).',
      '',
    )
  }
  if (!results.runs.some((run) => run.system === 'parallel-consumer')) return out
  out.push("Each system's best run, msg/s · peak RSS:", '')
  out.push(markdownTable(PEER_COMPARISON_HEADER, peerComparisonRows(results)), '')
  out.push(`At the same concurrency (kvp on ${results.settings.threads} worker threads):`, '')
  out.push(markdownTable(PEER_LANES_HEADER, peerLaneRows(results)), '')
  return out
}
