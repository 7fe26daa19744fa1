/**
 * A JVM that cannot outlive the Node process that started it. Java runs under a small
 * `sh` guard whose stdin is a pipe from Node: when the pipe closes (Node exited, even by
 * SIGKILL) the guard sends java SIGTERM, and SIGKILL 15 s later, then removes the folder
 * it was given. The guard prints java's pid first, so Node signals java itself; it exits
 * with java's status.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'

/**
 * $1: the log file; $2: a folder to remove if java was stopped because Node went away
 * (empty for none); then the command. A background list's stdin is /dev/null in a shell
 * without job control, so the pipe is kept as fd 3 and handed to the watcher explicitly;
 * java gets neither. The watcher marks the folder before it signals java: Node itself
 * never closes the pipe while java runs, so the mark means nobody is left to clean up.
 * (Asking whether $PPID is alive is not enough: a killed parent stays a zombie until its
 * own parent reaps it.) The guard leads its own process group (spawned detached), so its
 * last `kill -TERM 0` reaches only the watcher and a pending `sleep`.
 */
const GUARD = `
log=$1; orphan_dir=$2; shift 2
exec 3<&0
"$@" </dev/null 3<&- >>"$log" 2>&1 &
java=$!
echo "$java"
(
  while read -r _; do :; done
  if [ -n "$orphan_dir" ]; then : >"$orphan_dir/.orphaned"; fi
  kill -TERM "$java" 2>/dev/null
  sleep 15
  kill -KILL "$java" 2>/dev/null
) <&3 >/dev/null 2>&1 &
exec 3<&-
wait "$java"
status=$?
if [ -n "$orphan_dir" ] && [ -e "$orphan_dir/.orphaned" ]; then rm -rf "$orphan_dir"; fi
trap '' TERM
kill -TERM 0 2>/dev/null
exit "$status"
`

export interface JvmExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export class GuardedJvm {
  readonly #guard: ChildProcess
  readonly #javaPid: number
  readonly exited: Promise<JvmExit>
  #exit: JvmExit | undefined

  private constructor(guard: ChildProcess, javaPid: number, exited: Promise<JvmExit>) {
    this.#guard = guard
    this.#javaPid = javaPid
    this.exited = exited
    void exited.then((exit) => {
      this.#exit = exit
      guard.stdin?.destroy()
    })
  }

  /** Starts `java args...` with its output appended to `logFile`; resolves once java's pid is known. */
  static async start(java: string, args: readonly string[], options: { cwd: string; logFile: string; env: NodeJS.ProcessEnv; removeIfOrphaned?: string }): Promise<GuardedJvm> {
    const stderr = openSync(options.logFile, 'a')
    let guard: ChildProcess
    try {
      // detached: a Ctrl-C in a terminal reaches Node, which stops the broker in order,
      // instead of reaching java directly.
      guard = spawn('/bin/sh', ['-c', GUARD, 'kvp-kafka-guard', options.logFile, options.removeIfOrphaned ?? '', java, ...args], {
        cwd: options.cwd,
        env: options.env,
        stdio: ['pipe', 'pipe', stderr],
        detached: true,
      })
    } finally {
      closeSync(stderr)
    }
    const exited = new Promise<JvmExit>((resolve) => {
      guard.on('exit', (code, signal) => resolve({ code, signal }))
      guard.on('error', () => resolve({ code: null, signal: null }))
    })
    // The guard's stdin stays open (and so java alive) for as long as this process runs.
    guard.stdin?.on('error', () => {})
    const pid = await new Promise<number | undefined>((resolve) => {
      let out = ''
      guard.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        const line = out.split('\n')
        if (line.length > 1) resolve(Number.parseInt(line[0] ?? '', 10))
      })
      void exited.then(() => resolve(undefined))
    })
    if (pid === undefined || !Number.isInteger(pid)) {
      throw new Error(`the java process guard exited before starting java (${describeExit(await exited)})`)
    }
    return new GuardedJvm(guard, pid, exited)
  }

  get running(): boolean {
    return this.#exit === undefined
  }

  get pid(): number {
    return this.#javaPid
  }

  /** SIGTERM to java, SIGKILL after `graceMs`; resolves once java and its guard are gone. */
  async terminate(graceMs: number): Promise<JvmExit> {
    if (this.#exit) return this.#exit
    this.#signal('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs)
    })
    const first = await Promise.race([this.exited, late])
    clearTimeout(timer)
    if (first === 'late') this.#signal('SIGKILL')
    const exit = await this.exited
    this.#guard.stdout?.destroy()
    return exit
  }

  #signal(signal: NodeJS.Signals): void {
    // While the guard runs it has not reaped java, so the pid is still java's.
    if (this.#exit) return
    try {
      process.kill(this.#javaPid, signal)
    } catch {
      // already gone
    }
  }
}

export function describeExit(exit: JvmExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`
}
