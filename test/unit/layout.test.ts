/**
 * Who may import whom, read from the sources: the engine never reaches into the worker
 * entry, and a worker thread loads only what it runs (no Kafka client, no dispatcher).
 */
import { strict as assert } from 'node:assert'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

/** The repository root, from dist/test/unit/ or test/unit/. */
const here = dirname(fileURLToPath(import.meta.url))
const root = [resolve(here, '../../..'), resolve(here, '../..')].find((dir) => existsSync(join(dir, 'src', 'engine.ts'))) as string

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return /\.c?ts$/.test(entry.name) ? [path] : []
  })
}

/** The modules a file loads at run time: `import type` and type-only re-exports load nothing. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const specifiers: string[] = []
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) specifiers.push(match[1] as string)
  for (const match of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specifiers.push(match[1] as string)
  return specifiers
}

/** A relative specifier as a source path (`../codec/x.js` → `src/codec/x.ts`); packages as they are. */
function resolveSpecifier(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier
  return relative(root, resolve(root, dirname(from), specifier)).replace(/\.c?js$/, (ext) => (ext === '.cjs' ? '.cts' : '.ts'))
}

function allImports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((match) => resolveSpecifier(file, match[1] as string))
}

/** Every module a worker thread loads, starting at its entry. */
function workerGraph(entry: string): Set<string> {
  const seen = new Set<string>()
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (seen.has(file)) continue
    seen.add(file)
    if (!file.startsWith('src/') && !file.startsWith('workers/')) continue
    for (const specifier of runtimeImports(file)) queue.push(resolveSpecifier(file, specifier))
  }
  return seen
}

describe('module layout', () => {
  test('nothing in src/ imports from workers/', () => {
    const offenders = sources('src').flatMap((file) =>
      allImports(file)
        .filter((target) => target.startsWith('workers/'))
        .map((target) => `${file} → ${target}`),
    )
    assert.deepEqual(offenders, [])
  })

  test('a worker thread loads only the worker, codec, config and error modules, and no Kafka client', () => {
    const graph = [...workerGraph('workers/slice-worker.ts')]
    // errors.ts redacts secret values from every message (config/redaction.ts, which imports nothing).
    const allowed = /^(workers\/|src\/worker\/|src\/codec\/|src\/config\/options\.ts$|src\/config\/redaction\.ts$|src\/errors\.ts$|node:|piscina$|protobufjs(\/|$))/
    assert.deepEqual(
      graph.filter((module) => !allowed.test(module)),
      [],
    )
    assert.ok(graph.includes('src/worker/slice-runner.ts'), `the graph was read (${graph.join(', ')})`)
  })

  test('the worker modules do not import the main-thread dispatch, kafka or engine modules, even for types', () => {
    const offenders = sources('src/worker').flatMap((file) =>
      allImports(file)
        .filter((target) => /^src\/(dispatch|kafka|cli)\/|^src\/engine\.ts$|^node-rdkafka$/.test(target))
        .map((target) => `${file} → ${target}`),
    )
    assert.deepEqual(offenders, [])
  })
})
