/**
 * The pool's worker: thin on purpose. A session receives tasks on its port, runs their
 * slices through the user's handler and sends each slice's ack back as a transferred
 * buffer, gathered by src/worker/ack-batcher.ts. All logic lives in src/worker/.
 */
import type { MessagePort } from 'node:worker_threads'
import { workerData } from 'piscina'
import { encodeTaskAck } from '../src/codec/slice-codec.js'
import type { TaskMessage, WireSliceAck } from '../src/codec/slice-codec.js'
import { AckBatcher } from '../src/worker/ack-batcher.js'
import { SliceRunner } from '../src/worker/slice-runner.js'
import type { SliceWorkerData } from '../src/worker/slice-runner.js'

const data = workerData as SliceWorkerData
const runner = new SliceRunner(data.routes, data.progress)

/** Command `session`: serve tasks from `port` until it says 'close'. */
export function session({ port }: { port: MessagePort }): Promise<void> {
  return new Promise((resolve) => {
    const acks = new AckBatcher((batch) => {
      const bytes = encodeTaskAck({ acks: batch })
      port.postMessage(bytes, [bytes.buffer as ArrayBuffer])
    })
    const onAck = (ack: WireSliceAck): void => acks.add(ack)
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
