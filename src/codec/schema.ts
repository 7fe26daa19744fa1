import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

/** The wire schema (proto/kvp.proto), loaded once per thread. */
const PROTO_PATH = fileURLToPath(new URL('../../../proto/kvp.proto', import.meta.url))

const root = protobuf.loadSync(PROTO_PATH)

export const TaskType = root.lookupType('kvp.Task')
export const TaskAckType = root.lookupType('kvp.TaskAck')
