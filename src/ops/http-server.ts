import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Engine } from '../engine.js'
import { EngineMetrics } from '../metrics.js'
import { HealthMonitor } from './health.js'
import type { HealthOptions } from './health.js'
import { staticAsset } from './static-assets.js'
import { statusReport } from './status-report.js'
import { StatusSampler } from './status-sampler.js'
import type { SamplerOptions } from './status-sampler.js'

export interface OperationsOptions extends Omit<HealthOptions, 'sources'> {
  /** 0 picks a free port. */
  port: number
  /** Default 127.0.0.1: expose it on purpose (`0.0.0.0` in a container). */
  host?: string
  /** Collect Node's default process metrics too (default true). */
  defaultMetrics?: boolean
  /** The consumer group, shown on the status page. */
  group?: string
  /** The status page's history: sample interval and length. */
  history?: SamplerOptions
}

export interface OperationsServer {
  readonly server: Server
  readonly port: number
  readonly host: string
  readonly health: HealthMonitor
  readonly sampler: StatusSampler
  close(): Promise<void>
}

const ENDPOINTS = ['/', '/healthz', '/readyz', '/status', '/metrics']

/** The page loads only its own files; nothing it shows can run as code or be framed elsewhere. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/**
 * One HTTP server for operating an engine: `/` (the live status page), `/status` (its data,
 * JSON), `/healthz` (liveness), `/readyz` (readiness) and `/metrics` (Prometheus).
 * Read-only: GET and HEAD; anything else is 405, and no endpoint changes state.
 */
export async function serveOperations(engine: Engine, options: OperationsOptions): Promise<OperationsServer> {
  const host = options.host ?? '127.0.0.1'
  const health = new HealthMonitor({
    ...options,
    sources: {
      workers: () => engine.workers(),
      polling: () => engine.polling,
      partitions: () => engine.stats().partitions.length,
      faults: () => engine.faults(),
    },
  })
  if (engine.stats().partitions.length > 0) health.assignedAlready()
  const metrics = new EngineMetrics(engine, { defaultMetrics: options.defaultMetrics ?? true })
  const sampler = new StatusSampler(engine, options.history)
  sampler.sample()
  const json = (res: ServerResponse, status: number, body: unknown, head: boolean): void => {
    const text = `${JSON.stringify(body)}\n`
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
    res.end(head ? undefined : text)
  }
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    const head = req.method === 'HEAD'
    const path = new URL(req.url ?? '/', 'http://x').pathname
    switch (path) {
      case '/healthz': {
        const result = health.liveness()
        json(res, result.ok ? 200 : 503, result, head)
        return
      }
      case '/readyz': {
        const result = health.readiness()
        json(res, result.ok ? 200 : 503, result, head)
        return
      }
      case '/status':
        json(res, 200, statusReport(engine, health, sampler, options.group), head)
        return
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(head ? undefined : text),
          (error: unknown) => res.writeHead(500).end(String(error)),
        )
        return
      default: {
        const asset = staticAsset(path === '/index.html' ? '/' : path)
        if (asset === undefined) {
          json(res, 404, { error: 'not found', endpoints: ENDPOINTS }, head)
          return
        }
        res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache', ...PAGE_HEADERS })
        res.end(head ? undefined : asset.body)
      }
    }
  }
  const server = createServer((req, res) => {
    try {
      handle(req, res)
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`internal error: ${String(error)}\n`)
    }
  })
  const closeParts = (): void => {
    health.close()
    metrics.close()
    sampler.close()
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, host, () => resolve())
    })
  } catch (error) {
    closeParts()
    throw error
  }
  return {
    server,
    port: (server.address() as AddressInfo).port,
    host,
    health,
    sampler,
    close: async () => {
      closeParts()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
