import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Engine } from '../engine.js'
import { EngineMetrics } from '../metrics.js'
import { HealthMonitor } from './health.js'
import type { HealthOptions } from './health.js'

export interface OperationsOptions extends HealthOptions {
  /** 0 picks a free port. */
  port: number
  /** Default 127.0.0.1: expose it on purpose (`0.0.0.0` in a container). */
  host?: string
  /** Collect Node's default process metrics too (default true). */
  defaultMetrics?: boolean
}

export interface OperationsServer {
  readonly server: Server
  readonly port: number
  readonly host: string
  readonly health: HealthMonitor
  close(): Promise<void>
}

/**
 * One HTTP server for operating an engine: `/metrics` (Prometheus), `/healthz` (liveness),
 * `/readyz` (readiness) and `/status` (JSON). Read-only: GET and HEAD; anything else is 405.
 */
export async function serveOperations(engine: Engine, options: OperationsOptions): Promise<OperationsServer> {
  const host = options.host ?? '127.0.0.1'
  const health = new HealthMonitor(options)
  if (engine.stats().partitions.length > 0) health.assignedAlready()
  const metrics = new EngineMetrics(engine, { defaultMetrics: options.defaultMetrics ?? true })
  const json = (res: ServerResponse, status: number, body: unknown, head: boolean): void => {
    const text = `${JSON.stringify(body)}\n`
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
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
        json(res, 200, { phase: health.phase, eventLoopDelayMs: health.eventLoopDelay(), ...engine.stats() }, head)
        return
      case '/metrics':
        metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(head ? undefined : text),
          (error: unknown) => res.writeHead(500).end(String(error)),
        )
        return
      default:
        json(res, 404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/status', '/metrics'] }, head)
    }
  }
  const server = createServer(handle)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, host, () => resolve())
    })
  } catch (error) {
    health.close()
    metrics.close()
    throw error
  }
  return {
    server,
    port: (server.address() as AddressInfo).port,
    host,
    health,
    close: async () => {
      health.close()
      metrics.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
