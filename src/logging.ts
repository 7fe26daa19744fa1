import type { Logger } from 'pino'
import { channels } from './diagnostics.js'

interface ErrorEvent {
  topic: string
  partition: number
  offset: number
  attempt?: number
  error: { message: string; code?: string }
  willRetry?: boolean
  delayMs?: number
}

/**
 * Logs what an operator needs to see from the engine's diagnostics channels: failures
 * with their policy outcome, dead letters, rebalances, commit and client errors.
 * Returns a function that unsubscribes.
 */
export function logEngineEvents(logger: Logger): () => void {
  const subscriptions: Array<[keyof typeof channels, (message: unknown) => void]> = [
    ['handlerError', (m) => {
      const e = m as ErrorEvent
      logger.warn({ topic: e.topic, partition: e.partition, offset: e.offset, attempt: e.attempt, code: e.error.code, willRetry: e.willRetry, delayMs: e.delayMs }, e.error.message)
    }],
    ['deadLetter', (m) => {
      const e = m as ErrorEvent & { deadLetterTopic: string }
      logger.error({ topic: e.topic, partition: e.partition, offset: e.offset, deadLetterTopic: e.deadLetterTopic, code: e.error.code }, `dead-lettered: ${e.error.message}`)
    }],
    ['partitionerError', (m) => {
      const e = m as ErrorEvent
      logger.warn({ topic: e.topic, partition: e.partition, offset: e.offset, code: e.error.code }, e.error.message)
    }],
    ['rebalance', (m) => {
      const e = m as { kind: string; partitions: Array<{ topic: string; partition: number }>; generation: number }
      logger.info({ generation: e.generation, partitions: e.partitions.map((p) => `${p.topic}[${p.partition}]`) }, `partitions ${e.kind === 'assign' ? 'assigned' : 'revoked'}`)
    }],
    ['commitError', (m) => {
      const e = m as { error: Error; reason: string }
      logger.warn({ reason: e.reason, err: e.error }, 'commit failed; the next one carries the latest watermark')
    }],
    ['kafkaError', (m) => {
      const e = m as { error: Error }
      logger.warn({ err: e.error }, 'kafka client error')
    }],
  ]
  for (const [name, listener] of subscriptions) channels[name].subscribe(listener)
  return () => {
    for (const [name, listener] of subscriptions) channels[name].unsubscribe(listener)
  }
}
