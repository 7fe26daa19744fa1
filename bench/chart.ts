/**
 * The `io` throughput chart: msg/s against kvp's lane count (log x), one line per
 * system (and per partition count, when the run covered several); the baselines do not
 * have lanes, so they are flat lines across the sweep; a peer (`--peers`) is a line over its
 * maxConcurrency, set to kvp's lane counts.
 */
import { parse, View, type Spec } from 'vega'
import { partitionCounts, rateOf, type BenchResults } from './lib/results.js'

interface Point {
  system: string
  maxPartitions: number
  msgPerSec: number
}

export function ioChartPoints(results: BenchResults): Point[] {
  const ioRuns = results.runs.filter((run) => run.scenario === 'io')
  const several = partitionCounts(ioRuns).length > 1
  const suffix = (partitions: number): string => (several ? `, ${partitions} partition${partitions === 1 ? '' : 's'}` : '')
  const kvp = ioRuns.filter((run) => run.kvp !== null && rateOf(run) !== null)
  const lanes = kvp.map((run) => run.kvp?.maxPartitions ?? 1)
  const from = lanes.length > 0 ? Math.min(...lanes) : 1
  const to = lanes.length > 0 ? Math.max(...lanes) : 256
  const points: Point[] = kvp.map((run) => ({
    system: `kvp${run.kvp?.distribution === undefined ? '' : ` ${run.kvp.distribution}`} (${run.kvp?.threads ?? '?'} threads${suffix(run.partitions)})`,
    maxPartitions: run.kvp?.maxPartitions ?? 1,
    msgPerSec: rateOf(run) ?? 0,
  }))
  for (const run of ioRuns) {
    const rate = rateOf(run)
    if (run.kvp !== null || rate === null) continue
    if (run.maxConcurrency !== undefined) {
      // A peer (--peers): a line over its maxConcurrency, which is kvp's lane count.
      points.push({ system: `${run.system} (maxConcurrency)${suffix(run.partitions)}`, maxPartitions: run.maxConcurrency, msgPerSec: rate })
      continue
    }
    const system = `${run.system === 'raw' ? 'raw consume (no handler)' : run.system}${suffix(run.partitions)}`
    points.push({ system, maxPartitions: from, msgPerSec: rate }, { system, maxPartitions: to, msgPerSec: rate })
  }
  return points
}

function chartSpec(points: Point[], title: string): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 560,
    height: 320,
    padding: 8,
    background: 'white',
    title: { text: title, anchor: 'start' },
    data: [{ name: 'points', values: points }],
    scales: [
      { name: 'x', type: 'log', base: 2, domain: { data: 'points', field: 'maxPartitions' }, range: 'width', nice: false },
      { name: 'y', type: 'log', domain: { data: 'points', field: 'msgPerSec' }, range: 'height', nice: true },
      { name: 'color', type: 'ordinal', domain: { data: 'points', field: 'system' }, range: 'category' },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'kvp lanes (per Kafka partition)', format: 'd' },
      { orient: 'left', scale: 'y', title: 'messages / second (log)', format: '~s', grid: true },
    ],
    legends: [{ fill: 'color', stroke: 'color', title: 'system', orient: 'bottom-right', symbolType: 'stroke', labelLimit: 300 }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'series', data: 'points', groupby: 'system' } },
        marks: [
          {
            type: 'line',
            from: { data: 'series' },
            sort: { field: 'datum.maxPartitions' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'maxPartitions' },
                y: { scale: 'y', field: 'msgPerSec' },
                stroke: { scale: 'color', field: 'system' },
                strokeWidth: { value: 2 },
              },
            },
          },
          {
            type: 'symbol',
            from: { data: 'series' },
            encode: {
              enter: {
                x: { scale: 'x', field: 'maxPartitions' },
                y: { scale: 'y', field: 'msgPerSec' },
                fill: { scale: 'color', field: 'system' },
                size: { value: 30 },
              },
            },
          },
        ],
      },
    ],
  } as Spec
}

/** The chart as an SVG document, or null when no `io` run was measured. */
export async function renderIoChart(results: BenchResults): Promise<string | null> {
  const points = ioChartPoints(results)
  if (points.length === 0) return null
  const kind = results.broker?.kind ?? 'mock'
  const where = kind === 'mock' ? 'the embedded cluster' : kind === 'apache-kafka' ? `Apache Kafka ${results.broker.version ?? ''}`.trim() : 'an external Kafka cluster'
  const partitions = partitionCounts(results.runs.filter((run) => run.scenario === 'io'))
  const what = partitions.length === 1 && partitions[0] === 1 ? 'one Kafka partition' : `${partitions.join(' and ')} partitions`
  const view = new View(parse(chartSpec(points, `io scenario (1 ms await per message): ${what}, ${where}`)), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
