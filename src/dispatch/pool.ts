import { performance } from 'node:perf_hooks'
import { MessageChannel } from 'node:worker_threads'
import type { MessagePort, Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { LoopUtilization } from '../loop-utilization.js'
import { decodeTaskAck } from '../codec/slice-codec.js'
import type { TaskMessage, WireSliceAck } from '../codec/slice-codec.js'
import type { WorkerRoute } from '../worker/slice-runner.js'
import type { SliceWorkerData } from '../worker/slice-runner.js'
import { InternalError } from '../errors.js'

const WORKER_URL = new URL('../../workers/slice-worker-entry.cjs', import.meta.url).href

export interface PoolOptions {
  threads: number
  concurrencyPerThread: number
  routes: WorkerRoute[]
  progress: SharedArrayBuffer
}

export interface PoolEvents {
  /** Slices finished (in any order); acks come as soon as each slice is done. */
  acks(acks: WireSliceAck[]): void
  /** A worker thread died or was aborted: every slice sent to `session` is lost with it. */
  sessionFailed(session: number, error: unknown): void
}

interface Session {
  id: number
  port: MessagePort
  controller: AbortController
  /** Slices and messages sent and not yet acked. */
  slices: number
  messages: number
  startedAt: number
}

/** A session that dies younger than this is restarted only after RESTART_DELAY_MS. */
const SHORT_LIVED_MS = 100
const RESTART_DELAY_MS = 500
/** Worker utilisation is measured over windows at least this long (readers may come often). */
const UTILIZATION_WINDOW_MS = 1000

/** The worker threads as operators see them: how many live, and how busy each is. */
export interface WorkerStats {
  /** Threads asked for (`threads`). */
  configured: number
  /** Threads running a session (able to take slices now). */
  alive: number
  /** Slices sent to the sessions and not yet acked, and the room they have in all. */
  slicesInFlight: number
  capacity: number
  /** Per live thread: its event-loop utilisation (0–1) over the last window of ≥ 1 s. */
  threads: Array<{ threadId: number; utilization: number }>
}

/**
 * The Piscina pool that owns the worker threads. Each thread runs one long-lived
 * `session` task holding a MessagePort: job slices go to it as transferred buffers and
 * each slice's ack comes back the moment it is done, so a fast lane never waits for a
 * slow lane that travelled with it, and there is no per-slice task round trip. Piscina
 * still does what it is for: starting threads, replacing one that dies (process.exit, an
 * uncaught error, out of memory) and terminating one whose session is aborted (a handler
 * stuck past its timeout) — then a new session starts on the replacement.
 */
export class WorkerPool {
  readonly threads: number
  readonly slicesPerThread: number
  readonly #pool: Piscina
  /** Who hears of acks and dead sessions: given to start(), before any session exists. */
  #events: PoolEvents | undefined
  readonly #sessions = new Map<number, Session>()
  #nextSession = 1
  #closing = false
  /** Restarts waiting out RESTART_DELAY_MS; cancelled by close(). */
  readonly #restarts = new Set<NodeJS.Timeout>()
  /** Per thread: its event loop's utilisation over windows of UTILIZATION_WINDOW_MS. */
  readonly #utilization = new WeakMap<Worker, LoopUtilization>()

  constructor(options: PoolOptions) {
    this.threads = options.threads
    this.slicesPerThread = options.concurrencyPerThread
    const workerData: SliceWorkerData = { routes: options.routes, progress: options.progress }
    this.#pool = new Piscina({
      filename: WORKER_URL,
      minThreads: options.threads,
      maxThreads: options.threads,
      // One session per thread; a replacement session must land on the replacement thread.
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      workerData,
    })
    // A thread that cannot be closed in time (a handler that never returns) is terminated;
    // Piscina reports it as an 'error' event, which must not crash the process.
    this.#pool.on('error', () => {})
  }

  /** Loads a route's handler in a worker; rejects with the load error. Call before start(). */
  async probe(routeIndex: number): Promise<void> {
    await this.#pool.run(routeIndex, { name: 'probe' })
  }

  /** Starts a session on every thread; `events` hears of their acks and deaths from now on. */
  start(events: PoolEvents): void {
    this.#events = events
    for (let i = 0; i < this.threads; i++) this.#startSession()
  }

  #startSession(): void {
    if (this.#closing) return
    const { port1, port2 } = new MessageChannel()
    const controller = new AbortController()
    const session: Session = { id: this.#nextSession++, port: port1, controller, slices: 0, messages: 0, startedAt: performance.now() }
    this.#sessions.set(session.id, session)
    port1.on('message', (bytes: Uint8Array) => {
      const acks = decodeTaskAck(bytes).acks
      session.slices -= acks.length
      this.#events?.acks(acks)
    })
    this.#pool.run({ port: port2 }, { name: 'session', transferList: [port2], signal: controller.signal }).then(
      () => this.#ended(session, undefined),
      (error: unknown) => this.#ended(session, error),
    )
  }

  #ended(session: Session, error: unknown): void {
    if (!this.#sessions.delete(session.id)) return
    session.port.close()
    if (this.#closing) return
    this.#events?.sessionFailed(session.id, error ?? new Error('worker session ended'))
    // A thread that dies at once (say, a handler that exits the thread as it loads) is not
    // restarted in a tight loop.
    if (performance.now() - session.startedAt < SHORT_LIVED_MS) {
      const timer = setTimeout(() => {
        this.#restarts.delete(timer)
        this.#startSession()
      }, RESTART_DELAY_MS)
      this.#restarts.add(timer)
    } else {
      this.#startSession()
    }
  }

  /** The live session with the fewest messages in flight and room for a slice, or undefined. */
  pick(): number | undefined {
    let best: Session | undefined
    for (const session of this.#sessions.values()) {
      if (session.slices >= this.slicesPerThread) continue
      if (!best || session.messages < best.messages) best = session
    }
    return best?.id
  }

  /**
   * Live threads and their load, read when asked (stats, probes), never per message. A
   * thread's utilisation is its event loop's (`worker.performance.eventLoopUtilization()`):
   * Piscina's own `utilization` counts task run time, and each thread here runs one task
   * for its whole life, so it would always read as full.
   */
  stats(): WorkerStats {
    let slicesInFlight = 0
    for (const session of this.#sessions.values()) slicesInFlight += session.slices
    const threads: WorkerStats['threads'] = []
    const now = performance.now()
    for (const worker of this.#pool.threads) {
      let utilization = this.#utilization.get(worker)
      if (utilization === undefined) {
        utilization = new LoopUtilization((current, previous) => worker.performance.eventLoopUtilization(current, previous), UTILIZATION_WINDOW_MS, now)
        this.#utilization.set(worker, utilization)
      }
      threads.push({ threadId: worker.threadId, utilization: Math.round(utilization.read(now) * 1000) / 1000 })
    }
    return { configured: this.threads, alive: Math.min(this.#sessions.size, this.#pool.threads.length), slicesInFlight, capacity: this.threads * this.slicesPerThread, threads }
  }

  /** Messages sent to the sessions and not yet acked. */
  get messagesInFlight(): number {
    let messages = 0
    for (const session of this.#sessions.values()) messages += session.messages
    return messages
  }

  /** Free slice places in a session. */
  room(session: number): number {
    const s = this.#sessions.get(session)
    return s ? this.slicesPerThread - s.slices : 0
  }

  /** Sends a task carrying `slices` slices; both buffers are transferred (detached here). */
  send(session: number, message: TaskMessage, slices: number, messages: number): void {
    const s = this.#sessions.get(session)
    if (!s) throw new InternalError(`no worker session ${session}`)
    s.slices += slices
    s.messages += messages
    s.port.postMessage(message, [message.task.buffer as ArrayBuffer, message.records.buffer as ArrayBuffer])
  }

  /** Bookkeeping for messages acked or lost on a session. */
  done(session: number, messages: number): void {
    const s = this.#sessions.get(session)
    if (s) s.messages -= messages
  }

  /** Terminates a session's thread (a handler stuck past its timeout); the pool replaces it. */
  abort(session: number, reason: unknown): void {
    this.#sessions.get(session)?.controller.abort(reason)
  }

  /**
   * Ends every session and terminates the threads. Afterwards the pool holds nothing that
   * keeps the event loop alive: each session's main-thread port is closed here whether its
   * thread ended cleanly, died, was aborted or is still being replaced.
   */
  async close(): Promise<void> {
    this.#closing = true
    for (const timer of this.#restarts) clearTimeout(timer)
    this.#restarts.clear()
    for (const session of this.#sessions.values()) session.port.postMessage('close')
    try {
      await this.#pool.close({ force: true })
    } finally {
      for (const session of this.#sessions.values()) session.port.close()
      this.#sessions.clear()
    }
  }
}
