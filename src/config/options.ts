/**
 * Public option types of `startEngine()`. They come from the options schema
 * (./schema.ts), which also validates them and holds their defaults; only the shapes of
 * what a partitioner function sees are written out (./partitioner-fn.ts).
 */
import type { z } from 'zod'
import type { distributionSchema, engineOptionsSchema, partitionerSchema, payloadSchema, topicRouteSchema } from './schema.js'

export type { PartitionerFn, RawMessage, VirtualKey } from './partitioner-fn.js'

export type PartitionerOption = z.input<typeof partitionerSchema>
export type Distribution = z.output<typeof distributionSchema>
export type PayloadOption = z.output<typeof payloadSchema>
export type EngineOptions = z.input<typeof engineOptionsSchema>
export type TopicRoute = z.input<typeof topicRouteSchema>
export type VirtualPartitionsOptions = Exclude<NonNullable<TopicRoute['virtualPartitions']>, false>
export type RetryOptions = NonNullable<TopicRoute['retry']>
export type DeadLetterOptions = NonNullable<TopicRoute['deadLetter']>
export type BackpressureOptions = NonNullable<EngineOptions['backpressure']>
/** librdkafka settings as kvp passes them through (`kafka`, `producer`, a dead-letter topic's `kafka`). */
export type KafkaSettings = NonNullable<EngineOptions['kafka']>
export type KafkaSettingValue = KafkaSettings[string]
