import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { waitFor } from './kafka.js'
import { kvpBin } from './paths.js'

export interface KvpProcess {
  child: ChildProcess
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>
  output(): string
}

/** Starts `kvp <args>` with extra environment variables; resolves once it printed KVP_READY. */
export async function startKvp(args: string[], env: Record<string, string>, readyTimeoutMs = 20_000): Promise<KvpProcess> {
  const child = spawn(process.execPath, [kvpBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  const deadline = Date.now() + readyTimeoutMs
  while (!out.includes('KVP_READY')) {
    const early = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 50))])
    if (early !== undefined) throw new Error(`kvp exited early (${String(early)}):\n${out}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`kvp did not become ready:\n${out}`)
    }
  }
  return { child, exited, output: () => out }
}

/** Kills a process if it is still running and waits for it. */
export async function ensureDead(proc: KvpProcess | undefined): Promise<void> {
  if (!proc) return
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL')
  await proc.exited
}

export interface RunArgs {
  brokers: string
  group: string
  topic: string
  handler: string
  /** More `kvp run` flags, after the four above. */
  flags?: string[]
  /** librdkafka settings (`key=value`), each passed as `-X key=value` after the flags. */
  kafka?: string[]
}

/** The command line of `kvp run` over one topic (the arguments after `kvp`). */
export function runArgs(options: RunArgs): string[] {
  return [
    'run',
    '--brokers',
    options.brokers,
    '--group',
    options.group,
    '--topic',
    options.topic,
    '--handler',
    options.handler,
    ...(options.flags ?? []),
    ...(options.kafka ?? []).flatMap((setting) => ['-X', setting]),
  ]
}

export interface Finished {
  /** The exit code; null when a signal ended it (the timeout's SIGKILL included). */
  code: number | null
  /** stdout and stderr together, as they came. */
  output: string
  stderr: string
  /** From the start to the exit. */
  ms: number
}

/** Runs `kvp <args>` to its end with extra environment variables (killed after `timeoutMs`); resolves with its exit code and what it wrote. */
export function runKvpToEnd(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Finished> {
  const began = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [kvpBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk))
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output, stderr, ms: Date.now() - began })
    })
  })
}

/** Waits until a `kvp run --http-port 0` process names its operations server; resolves with the port. */
export async function operationsPort(proc: KvpProcess, timeoutMs: number): Promise<number> {
  const line = /operations on http:\/\/127\.0\.0\.1:(\d+)\//
  await waitFor('the operations server', () => line.test(proc.output()), timeoutMs)
  return Number(line.exec(proc.output())?.[1])
}

/** Whether a process with this id runs (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
