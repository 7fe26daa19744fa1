import { performance } from 'node:perf_hooks'
import { decodeTask } from '../codec/slice-codec.js'
import type { WireSlice, WireSliceAck } from '../codec/slice-codec.js'
import { RecordColumnsReader } from '../codec/record-columns.js'
import { createPayloadDecoder } from '../codec/payload-codec.js'
import type { PayloadDecoder } from '../codec/payload-codec.js'
import type { PayloadOption } from '../config/options.js'
import { ErrorCodes, InternalError, KvpError, describeError } from '../errors.js'
import { progressReporter } from '../codec/slice-progress.js'
import { OutputRecordsWriter } from '../codec/output-records.js'
import { loadHandler } from './handler-loader.js'
import type { Handler, HandlerContext } from './handler-loader.js'

/** What the pool gives each worker thread (Piscina's `workerData`). */
export interface SliceWorkerData {
  routes: WorkerRoute[]
  /** Shared per-slice progress counters (see src/codec/slice-progress.ts). */
  progress: SharedArrayBuffer
}

/** What a worker thread knows of a route (sent once, in its workerData). */
export interface WorkerRoute {
  topic: string
  handlerUrl: string
  payload: PayloadOption
  manualOffsets: boolean
  handlerTimeoutMs?: number | undefined
}

/** The message a handler receives. */
export interface HandlerMessage {
  topic: string
  partition: number
  offset: number
  key: Buffer | null
  value: Buffer | null
  headers: ReadonlyArray<Record<string, Buffer>>
  timestamp: number
  virtualPartition: number
  attempt: number
  /** `value` decoded by the route's payload codec (`raw`: the value itself). */
  payload: unknown
}

const NO_HEADERS: ReadonlyArray<Record<string, Buffer>> = Object.freeze([])

/**
 * Runs job slices inside a worker thread: each slice's messages one after another, in
 * offset order, the slices of one task concurrently. Reports how far each slice got.
 */
export class SliceRunner {
  readonly #routes: WorkerRoute[]
  readonly #decoders: Array<PayloadDecoder | undefined> = []
  readonly #report: (slot: number, handled: number) => void

  constructor(routes: WorkerRoute[], progress?: SharedArrayBuffer) {
    this.#routes = routes
    this.#report = progressReporter(progress)
  }

  /** Runs a task's slices concurrently; `onAck` gets each slice's ack as soon as it is done. */
  runTask(bytes: Uint8Array, recordBytes: Uint8Array, onAck: (ack: WireSliceAck) => void): void {
    const task = decodeTask(bytes)
    const records = new RecordColumnsReader(recordBytes)
    for (const slice of task.slices) void this.#runSlice(slice, records).then(onAck)
  }

  /** Loads a route's handler and payload codec; throws what a slice would fail with. */
  async probe(routeIndex: number): Promise<void> {
    const route = this.#route(routeIndex)
    await loadHandler(route.handlerUrl)
    this.#decoder(routeIndex)
  }

  #route(index: number): WorkerRoute {
    const route = this.#routes[index]
    if (!route) throw new InternalError(`no route ${index}`)
    return route
  }

  #decoder(index: number): PayloadDecoder {
    let decoder = this.#decoders[index]
    if (!decoder) {
      decoder = createPayloadDecoder(this.#route(index).payload, `topics[${index}].payload`)
      this.#decoders[index] = decoder
    }
    return decoder
  }

  async #runSlice(slice: WireSlice, records: RecordColumnsReader): Promise<WireSliceAck> {
    const started = performance.now()
    const route = this.#route(slice.route)
    const topic = route.topic
    let handled = 0
    let marked = 0
    let handler: Handler
    let decode: PayloadDecoder
    try {
      handler = await loadHandler(route.handlerUrl)
      decode = this.#decoder(slice.route)
    } catch (error) {
      return failure(slice.id, 0, 0, error, started)
    }
    const manual = route.manualOffsets
    const timeoutMs = route.handlerTimeoutMs
    // Records of handled messages; a failed call's records are discarded (its retry produces them again).
    let outputs: OutputRecordsWriter | undefined
    let counts: number[] | undefined
    const done = (ack: WireSliceAck): WireSliceAck => {
      if (outputs !== undefined && outputs.count > 0) {
        ack.outputs = outputs.finish()
        ack.outputCounts = (counts as number[]).slice(0, ack.handled)
      }
      return ack
    }
    for (let i = 0; i < slice.count; i++) {
      const r = slice.first + i
      const offset = records.offset(r)
      const attempt = i === 0 ? slice.attempt : 1
      let markedHere = false
      let call: OutputRecordsWriter | undefined
      const controller = timeoutMs === undefined ? undefined : new AbortController()
      const ctx: HandlerContext = {
        signal: controller?.signal,
        topic,
        partition: slice.partition,
        virtualPartition: slice.lane,
        attempt,
        markAsConsumed() {
          markedHere = true
        },
        produce(records) {
          call ??= new OutputRecordsWriter()
          if (Array.isArray(records)) for (const record of records) call.add(record)
          else call.add(records)
        },
      }
      try {
        const value = records.value(r)
        const message: HandlerMessage = {
          topic,
          partition: slice.partition,
          offset,
          key: records.key(r),
          value,
          headers: records.headers(r) ?? NO_HEADERS,
          timestamp: records.timestamp(r),
          virtualPartition: slice.lane,
          attempt,
          payload: decode(value),
        }
        if (controller === undefined) await handler(message, ctx)
        else await withTimeout(handler(message, ctx), timeoutMs as number, controller, offset)
      } catch (error) {
        if (markedHere) marked = i + 1
        return done(failure(slice.id, handled, marked, error, started))
      }
      if (call !== undefined || outputs !== undefined) {
        outputs ??= new OutputRecordsWriter()
        counts ??= new Array<number>(i).fill(0)
        counts.push(call?.count ?? 0)
        if (call !== undefined) outputs.take(call)
      }
      handled = i + 1
      // The shared count is what the main thread takes as done should this thread die before
      // the ack. Records produced here travel only with the ack, so the count stops at the
      // first message that produced any: with the thread, its records would be lost.
      if (outputs === undefined) this.#report(slice.slot, handled)
      if (!manual || markedHere) marked = handled
    }
    // Only set fields travel: a successful ack carries no error strings.
    return done({ id: slice.id, handled, marked, durationMs: performance.now() - started } as WireSliceAck)
  }
}

function failure(id: number, handled: number, marked: number, error: unknown, started: number): WireSliceAck {
  const { message, code, stack } = describeError(error)
  return { id, handled, marked, failed: true, errorMessage: message, errorCode: code, errorStack: stack, durationMs: performance.now() - started }
}

/**
 * Fails a handler call that runs past its time with KVP_TIMEOUT and aborts `ctx.signal`.
 * An async handler that ignores the signal is abandoned (it cannot be cancelled); one that
 * blocks the thread is caught by the main thread's deadline, which replaces the thread.
 */
async function withTimeout(call: unknown, timeoutMs: number, controller: AbortController, offset: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new KvpError(ErrorCodes.TIMEOUT, `handler ran past handlerTimeoutMs (${timeoutMs} ms) on offset ${offset}`)
      controller.abort(error)
      reject(error)
    }, timeoutMs)
  })
  try {
    await Promise.race([call, expired])
  } finally {
    clearTimeout(timer)
  }
}
