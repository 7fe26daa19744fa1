/** The scenario handlers, as functions for the baselines and as module URLs for kvp. */
import cpu from '../handlers/cpu.js'
import io from '../handlers/io.js'
import noop from '../handlers/noop.js'
import type { BenchMessage, Scenario } from '../handlers/work.js'

export type Handler = (message: BenchMessage) => Promise<void>

export const handlers: Readonly<Record<Scenario, Handler>> = { io, cpu, noop }

/** File URL of a compiled handler module in bench/handlers/, e.g. `handlerUrl('io')`. */
export function handlerUrl(name: string): string {
  return new URL(`../handlers/${name}.js`, import.meta.url).href
}
