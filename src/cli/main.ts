/**
 * The `kvp` command line: `run`, `mock-cluster`, `produce` and `lag`. `main()` parses, runs one
 * command and returns the exit code instead of exiting, so tests can call it in-process:
 * 0 a clean stop, 2 bad usage or configuration (the message names the flag or field),
 * 1 anything else.
 */
import { Writable } from 'node:stream'
import { Command, CommanderError } from 'commander'
import { secrets } from '../config/redaction.js'
import { ConfigError, describeError, UsageError } from '../errors.js'
import type { CliContext } from './context.js'
import { addLagCommand } from './lag-command.js'
import { addMockClusterCommand } from './mock-cluster-command.js'
import { addProduceCommand } from './produce-command.js'
import { addRunCommand } from './run-command.js'

export type { CliContext } from './context.js'

export const ExitCodes = {
  OK: 0,
  FATAL: 1,
  USAGE: 2,
} as const

export interface MainOptions {
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
  cwd?: string
  env?: Readonly<Record<string, string | undefined>>
  /** Stops a long-running command like a SIGTERM would (for in-process use). */
  stop?: AbortSignal
}

/** Runs `kvp` with `argv` (the arguments after the program name) and returns the exit code. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  // Everything the command writes passes the secret registry: no secret value it was given reaches the output.
  const stderr = redacting(options.stderr ?? process.stderr)
  const signals = new StopSignals(stderr, options.stop)
  const context: CliContext = {
    stdout: redacting(options.stdout ?? process.stdout),
    stderr,
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    waitForStop: () => signals.wait(),
    exitCode: ExitCodes.OK,
  }
  try {
    await buildProgram(context).parseAsync([...argv], { from: 'user' })
    return context.exitCode
  } catch (err) {
    if (err instanceof VersionRequested) {
      const { describeBuild } = await import('../build-info.js')
      context.stdout.write(describeBuild())
      return ExitCodes.OK
    }
    if (err instanceof CommanderError) {
      // Commander has already printed the help or the error.
      return err.exitCode === 0 ? ExitCodes.OK : ExitCodes.USAGE
    }
    if (err instanceof ConfigError || err instanceof UsageError) {
      stderr.write(`kvp: error: ${err.message}\n`)
      return ExitCodes.USAGE
    }
    const { message, code } = describeError(err)
    stderr.write(`kvp: fatal: ${message}${code ? ` (${code})` : ''}\n`)
    if (process.env.KVP_DEBUG && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`)
    return ExitCodes.FATAL
  } finally {
    signals.dispose()
  }
}

/** A stream that writes to `target` with every known secret value replaced (../config/secrets.ts). */
function redacting(target: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      // Passed on at once, not after the target's callback: nothing waits here when the process exits.
      target.write(secrets.redact(chunk.toString()))
      callback()
    },
  })
}

/** `--version` was given: main() prints the build and exits 0. */
class VersionRequested extends Error {}

/** The commander program, wired to `context`. Errors throw (exitOverride) rather than exit. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('kvp')
    .description("Kafka virtual partitions: process one partition's messages in parallel on worker threads, keeping per-key order and committing only offsets below which every message is done.")
    .option('-V, --version', "print kvp's, node-rdkafka's and librdkafka's versions and librdkafka's builtin.features")
    .on('option:version', () => {
      // Loaded only when asked: every other command's start would pay for the native binding.
      throw new VersionRequested()
    })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', '\nExit codes: 0 clean stop, 2 bad usage or configuration, 1 fatal error.')
  addRunCommand(program, context)
  addMockClusterCommand(program, context)
  addProduceCommand(program, context)
  addLagCommand(program, context)
  return program
}

/**
 * SIGTERM/SIGINT handling for long-running commands. Listeners are installed only while
 * a command waits, and removed by `dispose()`, so in-process callers keep their own.
 */
class StopSignals {
  readonly #stderr: NodeJS.WritableStream
  readonly #abort: AbortSignal | undefined
  #waiting: Promise<string> | undefined
  readonly #cleanups: Array<() => void> = []

  constructor(stderr: NodeJS.WritableStream, abort: AbortSignal | undefined) {
    this.#stderr = stderr
    this.#abort = abort
  }

  wait(): Promise<string> {
    this.#waiting ??= new Promise<string>((resolve) => {
      let stopping = false
      const onFirst = (name: string): void => {
        if (stopping) return
        stopping = true
        this.#release()
        this.#listen(() => {
          this.#stderr.write('kvp: second signal, exiting now without draining\n')
          process.exit(ExitCodes.FATAL)
        })
        resolve(name)
      }
      this.#listen(onFirst)
      // Signal listeners do not keep the process alive; a long-running command must.
      const keepAlive = setInterval(() => {}, 1 << 30)
      this.#cleanups.push(() => clearInterval(keepAlive))
      if (this.#abort !== undefined) {
        if (this.#abort.aborted) onFirst('abort')
        else this.#abort.addEventListener('abort', () => onFirst('abort'), { once: true })
      }
    })
    return this.#waiting
  }

  dispose(): void {
    this.#release()
  }

  #listen(handler: (name: string) => void): void {
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      const listener = (): void => handler(name)
      process.on(name, listener)
      this.#cleanups.push(() => process.off(name, listener))
    }
  }

  #release(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
  }
}
