import { Piscina } from 'piscina'
import type { WorkerRoute } from '../worker/slice-runner.js'
import type { SliceWorkerData } from '../../workers/slice-worker.js'

const WORKER_URL = new URL('../../workers/slice-worker.js', import.meta.url).href

export interface PoolOptions {
  threads: number
  concurrencyPerThread: number
  routes: WorkerRoute[]
  progress: SharedArrayBuffer
}

/** The Piscina pool that runs job slices. Tasks go in and acks come out as moved buffers. */
export class WorkerPool {
  readonly capacity: number
  readonly threads: number
  readonly #pool: Piscina
  #inFlight = 0

  constructor(options: PoolOptions) {
    this.threads = options.threads
    this.capacity = options.threads * options.concurrencyPerThread
    const workerData: SliceWorkerData = { routes: options.routes, progress: options.progress }
    this.#pool = new Piscina({
      filename: WORKER_URL,
      minThreads: options.threads,
      maxThreads: options.threads,
      concurrentTasksPerWorker: options.concurrencyPerThread,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData,
    })
  }

  get inFlight(): number {
    return this.#inFlight
  }

  get hasRoom(): boolean {
    return this.#inFlight < this.capacity
  }

  /** Runs a task; `task`'s ArrayBuffer is transferred (detached here). */
  async run(task: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    this.#inFlight++
    try {
      const options = signal ? { signal, transferList: [task.buffer as ArrayBuffer] } : { transferList: [task.buffer as ArrayBuffer] }
      return (await this.#pool.run(task, options)) as Uint8Array
    } finally {
      this.#inFlight--
    }
  }

  /** Loads a route's handler in a worker; rejects with the load error. */
  async probe(routeIndex: number): Promise<void> {
    await this.#pool.run(routeIndex, { name: 'probe' })
  }

  async close(): Promise<void> {
    await this.#pool.close({ force: true })
  }
}
