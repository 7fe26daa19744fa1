/**
 * Confluent Parallel Consumer (bench/peers/parallel-consumer), a JVM started per run:
 * `ProcessingOrder.KEY`, `maxConcurrency` records in flight, the same work per record. It
 * measures itself the way bench/lib/meter.ts does and says so in JSON lines on stdout.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { CPU_ROUNDS } from '../handlers/work.js'
import type { BuiltPeer } from '../lib/jvm-peer.js'
import type { Measurement } from '../lib/meter.js'
import { parsePeerLine, peerMeasurement, type PeerStarted } from '../lib/peer-output.js'
import type { System } from './system.js'

/** Past the time box: JVM start, group join, first fetch, and the peer's own 30 s stall limit. */
const EXTRA_MS = 60_000
/** After its result the JVM closes itself within ~4 s; past this it is killed. */
const EXIT_GRACE_MS = 8_000
const STDERR_KEPT = 4_000

/** `cpuMicros`: what a `cpu` record costs Node here; the JVM scales its rounds to take as long. */
export function parallelConsumerSystem(peer: BuiltPeer, maxConcurrency: number, cpuMicros: number, onStarted?: (started: PeerStarted) => void): System {
  return (run) =>
    new Promise<Measurement>((resolve, reject) => {
      const args = [
        '-cp',
        peer.classpath,
        peer.definition.mainClass,
        run.bootstrapServers,
        run.topic,
        run.groupId,
        run.scenario,
        String(maxConcurrency),
        String(run.count),
        String(run.timeBoxMs),
        String(CPU_ROUNDS),
        String(cpuMicros),
      ]
      const child = spawn(peer.java, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      child.stderr.setEncoding('utf8')
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_KEPT)
      })
      let outcome: { measurement: Measurement } | { error: string } | null = null
      let killTimer: NodeJS.Timeout | undefined
      const settle = (next: { measurement: Measurement } | { error: string }): void => {
        if (outcome !== null) return
        outcome = next
        killTimer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS)
      }
      const deadline = setTimeout(() => {
        settle({ error: `parallel-consumer: no result within ${(run.timeBoxMs + EXTRA_MS) / 1000} s` })
        child.kill('SIGKILL')
      }, run.timeBoxMs + EXTRA_MS)

      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = parsePeerLine(line)
        if (event === null) return
        switch (event.event) {
          case 'started':
            onStarted?.(event)
            break
          case 'progress':
            run.onProgress(event.handled)
            break
          case 'result':
            run.onProgress(event.handled)
            settle({ measurement: peerMeasurement(event) })
            break
          case 'error':
            settle({ error: event.message })
            break
        }
      })
      child.on('error', (err) => settle({ error: `parallel-consumer: could not start ${peer.java}: ${err.message}` }))
      child.on('close', (code, signal) => {
        clearTimeout(deadline)
        clearTimeout(killTimer)
        const done = outcome ?? { error: `parallel-consumer: the JVM exited (${code ?? signal}) without a result${stderr.trim() === '' ? '' : `: ${lastLines(stderr)}`}` }
        if ('measurement' in done) resolve(done.measurement)
        else reject(new Error(done.error))
      })
    })
}

function lastLines(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join(' / ')
}
