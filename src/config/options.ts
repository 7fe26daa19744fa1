/**
 * Public option types of `startEngine()`. They come from the options schema
 * (./schema.ts), which also validates them and holds their defaults; only the shapes of
 * what a partitioner function sees are written out here.
 */
import type { z } from 'zod'
import type { distributionSchema, engineOptionsSchema, partitionerSchema, payloadSchema, topicRouteSchema } from './schema.js'

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

export type PartitionerOption = z.input<typeof partitionerSchema>
export type Distribution = z.output<typeof distributionSchema>
export type PayloadOption = z.output<typeof payloadSchema>
export type EngineOptions = z.input<typeof engineOptionsSchema>
export type TopicRoute = z.input<typeof topicRouteSchema>
export type VirtualPartitionsOptions = Exclude<NonNullable<TopicRoute['virtualPartitions']>, false>
export type RetryOptions = NonNullable<TopicRoute['retry']>
export type DeadLetterOptions = NonNullable<TopicRoute['deadLetter']>
export type BackpressureOptions = NonNullable<EngineOptions['backpressure']>
