import { open } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { STARTED_LINE } from './config-files.js'
import { ApacheKafkaError, tailOfFile } from './errors.js'
import { describeExit, type GuardedJvm } from './guarded-jvm.js'

const POLL_MS = 100

/** `count` distinct free ports on 127.0.0.1 (each found by listening on port 0, all held until the last is found). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((server) => {
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('a listening TCP server has no port')
    return address.port
  })
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  return ports
}

/** Whether a TCP connection to 127.0.0.1:port is accepted within `timeoutMs`. */
export function acceptsConnections(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Whether the log file, from byte `from` on, contains `text`. */
async function logContains(file: string, from: number, text: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      if (size <= from) return false
      const buffer = Buffer.alloc(size - from)
      await handle.read(buffer, 0, buffer.length, from)
      return buffer.includes(text)
    } finally {
      await handle.close()
    }
  } catch {
    return false
  }
}

export interface ReadinessInput {
  jvm: GuardedJvm
  logFile: string
  /** Size of the log file when this JVM was started: earlier runs' lines do not count. */
  logOffset: number
  port: number
  timeoutMs: number
  /** What is starting, for error messages ("Apache Kafka 4.1.1"). */
  what: string
}

/**
 * Ready means both: the broker logged "Kafka Server started" and its PLAINTEXT port accepts
 * a TCP connection. Rejects if java exits first or the time is up; the message ends with
 * the broker's log.
 */
export async function waitUntilReady(input: ReadinessInput): Promise<void> {
  const deadline = Date.now() + input.timeoutMs
  let started = false
  for (;;) {
    if (!input.jvm.running) {
      const exit = await input.jvm.exited
      throw new ApacheKafkaError(`${input.what} exited during startup (${describeExit(exit)}); its log (broker.log in the data folder) ended with:\n${await tailOfFile(input.logFile)}`)
    }
    started ||= await logContains(input.logFile, input.logOffset, STARTED_LINE)
    if (started && (await acceptsConnections(input.port))) return
    if (Date.now() > deadline) {
      const missing = started ? `port ${input.port} accepted no connection` : `it did not log "${STARTED_LINE}"`
      throw new ApacheKafkaError(`${input.what} did not come up within ${input.timeoutMs} ms (${missing}); its log (broker.log in the data folder) ended with:\n${await tailOfFile(input.logFile)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}
