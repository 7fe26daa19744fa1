import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
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
