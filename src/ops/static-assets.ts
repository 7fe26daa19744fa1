import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Asset {
  type: string
  body: Buffer
}

/**
 * The status page's files: kvp's own plain HTML/CSS/JS in `ui/` at the package root (shipped
 * as they are, no build step), and uPlot's browser build from its package in node_modules.
 * Read once, on the first request; only these fixed paths are served, so no request can
 * name a file of its own.
 */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function uplotFile(name: string): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('uplot/package.json')), 'dist', name)
}

const FILES: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => join(packageRoot, 'ui', 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/status.css': { file: () => join(packageRoot, 'ui', 'status.css'), type: 'text/css; charset=utf-8' },
  '/ui/status.js': { file: () => join(packageRoot, 'ui', 'status.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/uplot.js': { file: () => uplotFile('uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/uplot.css': { file: () => uplotFile('uPlot.min.css'), type: 'text/css; charset=utf-8' },
}

const cache = new Map<string, Asset>()

/** The asset served at `path`, or undefined for any other path. Throws when a shipped file is missing. */
export function staticAsset(path: string): Asset | undefined {
  const known = FILES[path]
  if (known === undefined) return undefined
  let asset = cache.get(path)
  if (asset === undefined) {
    asset = { type: known.type, body: readFileSync(known.file()) }
    cache.set(path, asset)
  }
  return asset
}
