import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { channels } from './diagnostics.js'
import type { Engine } from './engine.js'
import type { EngineStats } from './stats.js'

/** One scrape reads `engine.stats()` once, however many gauges it feeds. */
const SNAPSHOT_MS = 200

/**
 * Prometheus metrics, fed by the engine's diagnostics channels and its stats snapshot.
 * The core never imports this file: it is wired in by the CLI (`--metrics-port`) or by an
 * embedding application.
 */
export class EngineMetrics {
  readonly registry = new Registry()
  readonly #unsubscribe: Array<() => void> = []
  readonly #delay: IntervalHistogram

  constructor(engine: Engine, options: { defaultMetrics?: boolean } = {}) {
    const registry = this.registry
    let snapshot: EngineStats | undefined
    let snapshotAt = 0
    const stats = (): EngineStats => {
      const now = performance.now()
      if (snapshot === undefined || now - snapshotAt > SNAPSHOT_MS) {
        snapshot = engine.stats()
        snapshotAt = now
      }
      return snapshot
    }
    const delay = monitorEventLoopDelay({ resolution: 20 })
    delay.enable()
    this.#delay = delay
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'kvp_process_' })
    const labelNames = ['topic', 'partition'] as const
    const handled = new Counter({ name: 'kvp_messages_handled_total', help: 'Messages whose handler finished successfully', labelNames, registers: [registry] })
    const failures = new Counter({ name: 'kvp_handler_failures_total', help: 'Failed handler attempts, by error code', labelNames: ['topic', 'partition', 'code'], registers: [registry] })
    const deadLetters = new Counter({ name: 'kvp_dead_letters_total', help: 'Messages written to a dead-letter topic', labelNames, registers: [registry] })
    const slices = new Histogram({ name: 'kvp_slice_messages', help: 'Messages per slice sent to a worker', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [registry] })
    const sliceSeconds = new Histogram({
      name: 'kvp_slice_duration_seconds',
      help: 'Time a worker spent on a slice',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    })
    const rebalances = new Counter({ name: 'kvp_rebalances_total', help: 'Partition assignments and revocations', labelNames: ['kind'], registers: [registry] })
    const commits = new Counter({ name: 'kvp_commits_total', help: 'Offset commits that reached the broker', labelNames: ['reason'], registers: [registry] })
    const commitErrors = new Counter({ name: 'kvp_commit_errors_total', help: 'Offset commits that failed', registers: [registry] })
    const skippedDone = new Counter({
      name: 'kvp_skipped_done_total',
      help: 'Messages fetched again after a crash or handoff that the previous owner had recorded as done (offset map): not handled again',
      labelNames,
      registers: [registry],
    })
    const staleAcks = new Counter({ name: 'kvp_stale_acks_total', help: 'Acks dropped because their partition was revoked', registers: [registry] })
    const pauses = new Counter({ name: 'kvp_backpressure_pauses_total', help: 'Partitions paused because too much was in flight', registers: [registry] })
    new Gauge({
      name: 'kvp_in_flight_messages',
      help: 'Fetched messages not yet done',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of stats().partitions) this.set({ topic: p.topic, partition: String(p.partition) }, p.inFlight)
      },
    })
    new Gauge({
      name: 'kvp_committable_offset',
      help: 'The contiguous watermark: next offset that may be committed',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of stats().partitions) if (p.watermark !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.watermark)
      },
    })
    new Gauge({
      name: 'kvp_committed_offset',
      help: 'The last offset committed by this engine',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of stats().partitions) if (p.committed !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.committed)
      },
    })
    const perPartition = (name: string, help: string, value: (p: EngineStats['partitions'][number]) => number | null): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset()
          for (const p of stats().partitions) {
            const v = value(p)
            if (v !== null) this.set({ topic: p.topic, partition: String(p.partition) }, v)
          }
        },
      })
    }
    perPartition('kvp_high_watermark', 'The partition high watermark (log end offset), as librdkafka last saw it', (p) => p.highWatermark)
    perPartition('kvp_consumer_lag', 'Messages behind: high watermark minus the committed offset', (p) => p.lag)
    perPartition('kvp_consumer_lag_seconds', 'Age of the oldest unfinished message, by its Kafka timestamp (0 when nothing is in flight)', (p) => p.lagSeconds)
    perPartition('kvp_partition_paused', '1 while backpressure pauses fetching from the partition', (p) => (p.paused ? 1 : 0))
    new Gauge({
      name: 'kvp_lanes',
      help: 'Lanes (virtual partitions) by state: busy (a slice running), queued (waiting for a worker), retrying (backoff or dead-letter delivery), idle',
      labelNames: ['topic', 'partition', 'state'],
      registers: [registry],
      collect() {
        this.reset()
        for (const p of stats().partitions) {
          const labels = { topic: p.topic, partition: String(p.partition) }
          this.set({ ...labels, state: 'busy' }, p.busyLanes)
          this.set({ ...labels, state: 'queued' }, p.queuedLanes)
          this.set({ ...labels, state: 'retrying' }, p.retryingLanes)
          this.set({ ...labels, state: 'idle' }, p.lanes - p.activeLanes)
        }
      },
    })
    new Gauge({
      name: 'kvp_worker_threads',
      help: 'Worker threads: alive (running a session) and configured',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const workers = engine.workers()
        this.set({ state: 'alive' }, workers.alive)
        this.set({ state: 'configured' }, workers.configured)
      },
    })
    new Gauge({
      name: 'kvp_worker_utilization',
      help: "A worker thread's event-loop utilisation (0-1) over the last window of at least 1 s",
      labelNames: ['thread'],
      registers: [registry],
      collect() {
        this.reset()
        for (const thread of engine.workers().threads) this.set({ thread: String(thread.threadId) }, thread.utilization)
      },
    })
    new Gauge({
      name: 'kvp_worker_slices',
      help: 'Slices in the worker sessions (in_flight) and the room they have (capacity)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const workers = engine.workers()
        this.set({ state: 'in_flight' }, workers.slicesInFlight)
        this.set({ state: 'capacity' }, workers.capacity)
      },
    })
    new Gauge({
      name: 'kvp_event_loop_delay_seconds',
      help: 'Main-thread event-loop delay since the last scrape, by quantile',
      labelNames: ['quantile'],
      registers: [registry],
      collect() {
        this.set({ quantile: '0.5' }, delay.percentile(50) / 1e9)
        this.set({ quantile: '0.99' }, delay.percentile(99) / 1e9)
        this.set({ quantile: '1' }, delay.max / 1e9)
        delay.reset()
      },
    })

    const faultsSeen = new Counter({
      name: 'kvp_faults_total',
      help: 'Client errors that stop progress (credentials, TLS, ACLs, topics, codecs, unreadable batches), by code; each counted when first seen',
      labelNames: ['code'],
      registers: [registry],
    })
    new Gauge({
      name: 'kvp_faults',
      help: 'Client errors that stop progress and are in force now, by code (0 when none)',
      labelNames: ['code'],
      registers: [registry],
      collect() {
        this.reset()
        for (const fault of engine.faults()) this.inc({ code: fault.code })
      },
    })

    this.#unsubscribe.push(
      channels.fault.subscribe((e) => {
        if (!e.repeat) faultsSeen.inc({ code: e.fault.code })
      }),
      channels.ack.subscribe((e) => {
        if (e.handled > 0) handled.inc({ topic: e.topic, partition: String(e.partition) }, e.handled)
        sliceSeconds.observe(e.durationMs / 1000)
      }),
      channels.slice.subscribe((e) => slices.observe(e.size)),
      channels.handlerError.subscribe((e) => failures.inc({ topic: e.topic, partition: String(e.partition), code: e.error.code })),
      channels.deadLetter.subscribe((e) => deadLetters.inc({ topic: e.topic, partition: String(e.partition) })),
      channels.skippedDone.subscribe((e) => skippedDone.inc({ topic: e.topic, partition: String(e.partition) }, e.count)),
      channels.rebalance.subscribe((e) => rebalances.inc({ kind: e.kind })),
      channels.commit.subscribe((e) => commits.inc({ reason: e.reason })),
      channels.commitError.subscribe(() => commitErrors.inc()),
      channels.staleAck.subscribe(() => staleAcks.inc()),
      channels.backpressure.subscribe((e) => {
        if (e.paused) pauses.inc()
      }),
    )
  }

  /** Serves `GET /metrics` on `port` (0: any free port). Resolves with the server. */
  async serve(port: number, host = '0.0.0.0'): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('see /metrics\n')
        return
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    return server
  }

  close(): void {
    this.#delay.disable()
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }
}
