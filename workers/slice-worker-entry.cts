/**
 * The file Piscina loads in each worker thread. Piscina first tries `require()` on it;
 * Node 20 can `require()` an ES module, but a worker terminated while doing so (a pool
 * closed right after start, e.g. when a handler fails to load) aborts the whole process
 * on an internal assertion. This CommonJS shim makes that `require()` trivial and loads
 * the real worker (./slice-worker.js, an ES module) with `import()`.
 */
import type { MessagePort } from 'node:worker_threads'

type SliceWorker = typeof import('./slice-worker.js')

let loaded: Promise<SliceWorker> | undefined
function worker(): Promise<SliceWorker> {
  loaded ??= import('./slice-worker.js')
  return loaded
}

export = {
  async probe(routeIndex: number): Promise<boolean> {
    return (await worker()).probe(routeIndex)
  },
  async session(task: { port: MessagePort }): Promise<void> {
    return (await worker()).session(task)
  },
}
