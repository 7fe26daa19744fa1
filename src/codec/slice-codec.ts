import { TaskAckType, TaskType } from './schema.js'

export interface WireSlice {
  id: number
  route: number
  partition: number
  lane: number
  attempt: number
  slot: number
  /** Index of the slice's first record in the task's record columns. */
  first: number
  count: number
}

export interface WireTask {
  slices: WireSlice[]
}

/** What travels to a worker session: both buffers are transferred. */
export interface TaskMessage {
  task: Uint8Array
  /** The records of every slice (see record-columns.ts). */
  records: Uint8Array
}

export interface WireSliceAck {
  id: number
  handled: number
  marked: number
  failed: boolean
  errorMessage: string
  errorCode: string
  errorStack: string
  durationMs: number
  /** Packed output records of the handled messages (output-records.ts); absent or empty when none. */
  outputs?: Uint8Array
  /** Output records per handled message, in order (absent when none produced any). */
  outputCounts?: number[]
}

export interface WireTaskAck {
  acks: WireSliceAck[]
}

/**
 * protobufjs hands out views into a shared 8 KiB slab for small messages. A transfer
 * moves the whole ArrayBuffer, so only a buffer the view owns entirely may be moved:
 * copy anything else into a fresh one.
 */
export function ownWhole(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer)) {
    return bytes
  }
  const owned = new Uint8Array(bytes.byteLength)
  owned.set(bytes)
  return owned
}

export function encodeTask(task: WireTask): Uint8Array {
  return ownWhole(TaskType.encode(task).finish())
}

export function decodeTask(bytes: Uint8Array): WireTask {
  return TaskType.decode(bytes) as unknown as WireTask
}

export function encodeTaskAck(ack: WireTaskAck): Uint8Array {
  return ownWhole(TaskAckType.encode(ack).finish())
}

export function decodeTaskAck(bytes: Uint8Array): WireTaskAck {
  return TaskAckType.decode(bytes) as unknown as WireTaskAck
}
