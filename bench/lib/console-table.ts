/**
 * The benchmarks' console tables. cli-table3 colours headers and borders by default, and the
 * colour library under it looks at no stream, so a table piped to a file or to `tail` came
 * out full of escape codes. Here colour follows the usual conventions instead: FORCE_COLOR
 * (https://force-color.org) turns it on (or off with `0` / `false`) wherever the output
 * goes, a non-empty NO_COLOR (https://no-color.org) turns it off, and otherwise a table is
 * coloured only when stdout is a terminal (not a dumb one). FORCE_COLOR wins over NO_COLOR,
 * as in Node's own `tty` module.
 */
import Table from 'cli-table3'

/** What the decision reads: whether the output is a terminal, and the environment. */
export interface ColourSignals {
  isTTY: boolean
  env: Readonly<Record<string, string | undefined>>
}

/** Whether output with these signals should carry ANSI colour codes. */
export function wantsColour({ isTTY, env }: ColourSignals): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return isTTY
}

/** Whether this process's stdout should be coloured. */
export function stdoutWantsColour(): boolean {
  return wantsColour({ isTTY: process.stdout.isTTY === true, env: process.env })
}

/** A cli-table3 table for stdout: its default colours only when `colour`, plain otherwise. */
export function consoleTable(options: Table.TableConstructorOptions, colour: boolean = stdoutWantsColour()): Table.Table {
  if (colour) return new Table(options)
  return new Table({ ...options, style: { ...options.style, head: [], border: [] } })
}
