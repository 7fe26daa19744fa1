/**
 * The pool's worker: thin on purpose. Decode a task, run its slices through the user's
 * handler, return the ack as a transferred buffer. All logic lives in src/worker/.
 */
import { move, workerData } from 'piscina'
import { SliceRunner } from '../src/worker/slice-runner.js'
import type { WorkerRoute } from '../src/worker/slice-runner.js'

export interface SliceWorkerData {
  routes: WorkerRoute[]
  /** Shared per-slice progress counters (see src/dispatch/slice-progress.ts). */
  progress: SharedArrayBuffer
}

const data = workerData as SliceWorkerData
const runner = new SliceRunner(data.routes, data.progress)

/** Command `run` (the default): a protobuf Task in, a protobuf TaskAck out. */
export default async function run(task: Uint8Array): Promise<unknown> {
  const ack = await runner.runTask(task)
  return move(ack)
}

/** Command `probe`: load a route's handler and payload codec, so that bad config fails at start. */
export async function probe(routeIndex: number): Promise<boolean> {
  await runner.probe(routeIndex)
  return true
}
