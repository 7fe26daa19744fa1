/** What a command gets from `main()`: where to write, where it runs, how it learns to stop. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Relative paths on the command line are resolved from here. */
  readonly cwd: string
  /** Where `KVP_KAFKA_*` settings are read from (process.env). */
  readonly env: Readonly<Record<string, string | undefined>>
  /**
   * Resolves with the signal's name on the first SIGTERM or SIGINT (or when the `stop`
   * abort signal given to `main()` fires). After that a second signal exits 1 at once.
   */
  waitForStop(): Promise<string>
  /** What `main()` returns once the command's action has finished. */
  exitCode: number
}
