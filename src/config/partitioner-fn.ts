/**
 * What a partitioner function sees and returns, written out by hand: the options schema
 * (./schema.ts) types its partitioner-function alternative with `PartitionerFn`.
 */
/** What a partitioner function receives: the message as fetched, before any decoding. */
export interface RawMessage {
  topic: string
  partition: number
  offset: number
  key: Buffer | string | null | undefined
  value: Buffer | null | undefined
  timestamp?: number | undefined
  headers?: Array<Record<string, Buffer | string>> | undefined
}

export type VirtualKey = string | Buffer | number | null | undefined

export type PartitionerFn = (message: RawMessage) => VirtualKey
