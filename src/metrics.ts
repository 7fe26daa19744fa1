import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { channels } from './diagnostics.js'
import type { Engine } from './engine.js'

/**
 * Prometheus metrics, fed by the engine's diagnostics channels and its stats snapshot.
 * The core never imports this file: it is wired in by the CLI (`--metrics-port`) or by an
 * embedding application.
 */
export class EngineMetrics {
  readonly registry = new Registry()
  readonly #unsubscribe: Array<() => void> = []

  constructor(engine: Engine, options: { defaultMetrics?: boolean } = {}) {
    const registry = this.registry
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
    const staleAcks = new Counter({ name: 'kvp_stale_acks_total', help: 'Acks dropped because their partition was revoked', registers: [registry] })
    const pauses = new Counter({ name: 'kvp_backpressure_pauses_total', help: 'Partitions paused because too much was in flight', registers: [registry] })
    new Gauge({
      name: 'kvp_in_flight_messages',
      help: 'Fetched messages not yet done',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of engine.stats().partitions) this.set({ topic: p.topic, partition: String(p.partition) }, p.inFlight)
      },
    })
    new Gauge({
      name: 'kvp_committable_offset',
      help: 'The contiguous watermark: next offset that may be committed',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of engine.stats().partitions) if (p.watermark !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.watermark)
      },
    })
    new Gauge({
      name: 'kvp_committed_offset',
      help: 'The last offset committed by this engine',
      labelNames,
      registers: [registry],
      collect() {
        this.reset()
        for (const p of engine.stats().partitions) if (p.committed !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.committed)
      },
    })

    this.#unsubscribe.push(
      channels.ack.subscribe((e) => {
        if (e.handled > 0) handled.inc({ topic: e.topic, partition: String(e.partition) }, e.handled)
        sliceSeconds.observe(e.durationMs / 1000)
      }),
      channels.slice.subscribe((e) => slices.observe(e.size)),
      channels.handlerError.subscribe((e) => failures.inc({ topic: e.topic, partition: String(e.partition), code: e.error.code })),
      channels.deadLetter.subscribe((e) => deadLetters.inc({ topic: e.topic, partition: String(e.partition) })),
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
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe()
  }
}
