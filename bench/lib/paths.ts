/** Where results and the generated document live, found from the package root (works compiled or not). */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageRoot(start: string): string {
  let dir = start
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${start}`)
    dir = parent
  }
  return dir
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)))
export const resultsDir = join(packageRoot, 'bench', 'results')
/** The latest run on the embedded cluster. */
export const latestResultsFile = join(resultsDir, 'latest.json')
/** The latest run on a real broker (`--brokers kafka` or an external cluster). */
export const latestKafkaResultsFile = join(resultsDir, 'latest-kafka.json')
export const ioChartFile = join(resultsDir, 'io-throughput.svg')
export const ioKafkaChartFile = join(resultsDir, 'io-throughput-kafka.svg')
export const benchmarksDoc = join(packageRoot, 'docs', 'benchmarks.md')
