import type { OutputRecord } from '../codec/output-records.js'
import { ErrorCodes, KvpError } from '../errors.js'

/** The context a handler gets beside the message. */
export interface HandlerContext {
  readonly topic: string
  readonly partition: number
  readonly virtualPartition: number
  readonly attempt: number
  /** With handlerTimeoutMs: aborted when the call runs past it. Pass it on to fetch() and the like. */
  readonly signal: AbortSignal | undefined
  /** Manual offsets: marks this message and every earlier message of its lane as done. */
  markAsConsumed(): void
  /**
   * Enqueues records for the engine's producer and returns at once. They are sent after the
   * call succeeds (a failed call's records are discarded), and the message counts as done
   * only once every one of them is delivered. A bad record shape throws `KVP_PRODUCE`.
   */
  produce(records: OutputRecord | readonly OutputRecord[]): void
}

export type Handler = (message: unknown, ctx: HandlerContext) => unknown

const cache = new Map<string, Promise<Handler>>()

/** Imports a handler module once per thread: its default export or a named `handle` export. */
export function loadHandler(url: string): Promise<Handler> {
  let loaded = cache.get(url)
  if (!loaded) {
    loaded = importHandler(url)
    cache.set(url, loaded)
    // A failed import is not cached: the next slice tries again (the file may be fixed).
    loaded.catch(() => cache.delete(url))
  }
  return loaded
}

async function importHandler(url: string): Promise<Handler> {
  let module: Record<string, unknown>
  try {
    module = (await import(url)) as Record<string, unknown>
  } catch (error) {
    throw new KvpError(ErrorCodes.HANDLER_LOAD, `cannot load handler module ${url}: ${(error as Error).message}`, { cause: error, retryable: false })
  }
  const candidate =
    typeof module.default === 'function'
      ? module.default
      : typeof module.handle === 'function'
        ? module.handle
        : isObjectWithHandle(module.default)
          ? module.default.handle.bind(module.default)
          : undefined
  if (typeof candidate !== 'function') {
    throw new KvpError(ErrorCodes.HANDLER_LOAD, `handler module ${url} exports no function: export default async function handle(message, ctx) { ... }`, { retryable: false })
  }
  return candidate as Handler
}

function isObjectWithHandle(value: unknown): value is { handle: Handler } {
  return typeof value === 'object' && value !== null && typeof (value as { handle?: unknown }).handle === 'function'
}
