import { isAbsolute, resolve as resolvePath } from 'node:path'
import protobuf from 'protobufjs'
import { ConfigError, ErrorCodes, KvpError } from '../errors.js'
import type { PayloadOption } from '../config/options.js'

/** Turns `message.value` into `message.payload`. Throws KvpError(KVP_DECODE) on bad input. */
export type PayloadDecoder = (value: Buffer | null) => unknown

function decodeError(kind: string, cause: unknown): KvpError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new KvpError(ErrorCodes.DECODE, `payload is not valid ${kind}: ${reason}`, { cause, retryable: false })
}

/** Loads a protobuf message type from a .proto file (path relative to the working directory). */
export function loadProtobufType(file: string, type: string, field = 'payload'): protobuf.Type {
  const path = isAbsolute(file) ? file : resolvePath(process.cwd(), file)
  let root: protobuf.Root
  try {
    root = protobuf.loadSync(path)
  } catch (error) {
    throw new ConfigError(`${field}.protobuf`, `cannot load ${path}: ${(error as Error).message}`, error)
  }
  try {
    return root.lookupType(type)
  } catch (error) {
    throw new ConfigError(`${field}.type`, `no message type '${type}' in ${path}`, error)
  }
}

export function protobufToObject(type: protobuf.Type, value: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(value), { longs: String, enums: String, bytes: Buffer, defaults: true })
}

export function createPayloadDecoder(option: PayloadOption, field = 'payload'): PayloadDecoder {
  if (option === 'raw') return (value) => value
  if (option === 'json') {
    return (value) => {
      if (value === null) return null
      try {
        return JSON.parse(value.toString('utf8')) as unknown
      } catch (error) {
        throw decodeError('JSON', error)
      }
    }
  }
  const type = loadProtobufType(option.protobuf, option.type, field)
  return (value) => {
    if (value === null) return null
    try {
      return protobufToObject(type, value)
    } catch (error) {
      throw decodeError(`protobuf ${option.type}`, error)
    }
  }
}
