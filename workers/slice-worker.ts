/**
 * The pool's worker: thin on purpose. A session receives tasks on its port, runs their
 * slices through the user's handler and sends each slice's ack back as a transferred
 * buffer as soon as it is done. All logic lives in src/worker/.
 */
import type { MessagePort } from 'node:worker_threads'
import { workerData } from 'piscina'
import { encodeTaskAck } from '../src/codec/slice-codec.js'
import type { TaskMessage, WireSliceAck } from '../src/codec/slice-codec.js'
import { SliceRunner } from '../src/worker/slice-runner.js'
import type { SliceWorkerData } from '../src/worker/slice-runner.js'

const data = workerData as SliceWorkerData
const runner = new SliceRunner(data.routes, data.progress)

/** Command `session`: serve tasks from `port` until it says 'close'. */
export function session({ port }: { port: MessagePort }): Promise<void> {
  return new Promise((resolve) => {
    let pending: WireSliceAck[] = []
    let scheduled = false
    // Acks of slices that finish in the same turn of the event loop travel together.
    const flush = (): void => {
      scheduled = false
      const bytes = encodeTaskAck({ acks: pending })
      pending = []
      port.postMessage(bytes, [bytes.buffer as ArrayBuffer])
    }
    const onAck = (ack: WireSliceAck): void => {
      pending.push(ack)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    }
    port.on('message', (message: TaskMessage | 'close') => {
      if (message === 'close') {
        port.close()
        resolve()
        return
      }
      runner.runTask(message.task, message.records, onAck)
    })
  })
}

/** Command `probe`: load a route's handler and payload codec, so that bad config fails at start. */
export async function probe(routeIndex: number): Promise<boolean> {
  await runner.probe(routeIndex)
  return true
}
