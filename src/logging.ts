import type { Logger } from 'pino'
import { channels } from './diagnostics.js'

/**
 * Logs what an operator needs to see from the engine's diagnostics channels: failures
 * with their policy outcome, dead letters, rebalances, commit and client errors.
 * Returns a function that unsubscribes.
 */
export function logEngineEvents(logger: Logger): () => void {
  const unsubscribes = [
    channels.handlerError.subscribe((e) => {
      logger.warn({ topic: e.topic, partition: e.partition, offset: e.offset, attempt: e.attempt, code: e.error.code, willRetry: e.willRetry, delayMs: e.delayMs }, e.error.message)
    }),
    channels.deadLetter.subscribe((e) => {
      logger.error({ topic: e.topic, partition: e.partition, offset: e.offset, deadLetterTopic: e.deadLetterTopic, code: e.error.code }, `dead-lettered: ${e.error.message}`)
    }),
    channels.partitionerError.subscribe((e) => {
      logger.warn({ topic: e.topic, partition: e.partition, offset: e.offset, code: e.error.code }, e.error.message)
    }),
    channels.rebalance.subscribe((e) => {
      logger.info({ generation: e.generation, partitions: e.partitions.map((p) => `${p.topic}[${p.partition}]`) }, `partitions ${e.kind === 'assign' ? 'assigned' : 'revoked'}`)
    }),
    channels.commitError.subscribe((e) => {
      logger.warn({ reason: e.reason, err: e.error }, 'commit failed; the next one carries the latest watermark')
    }),
    channels.fault.subscribe((e) => {
      const { fault } = e
      logger.error(
        {
          code: fault.code,
          topic: fault.topic,
          partition: fault.partition,
          offset: fault.offset,
          cause: fault.cause,
          fix: fault.fix,
          librdkafka: fault.detail,
          seen: fault.count,
          since: new Date(fault.since).toISOString(),
        },
        `${e.repeat ? 'still: ' : ''}${fault.cause}. Fix: ${fault.fix}`,
      )
    }),
    channels.faultCleared.subscribe((e) => {
      logger.info({ code: e.fault.code, topic: e.fault.topic, partition: e.fault.partition }, `over: ${e.fault.cause}`)
    }),
    channels.offsetMap.subscribe((e) => {
      if (e.problem !== undefined) logger.warn({ topic: e.topic, partition: e.partition, committed: e.committed }, `${e.problem}: it is ignored, and the partition runs from the committed offset`)
      else logger.info({ topic: e.topic, partition: e.partition, committed: e.committed, done: e.done }, 'offset map read: messages done above the committed offset are not handled again')
    }),
    channels.kafkaError.subscribe((e) => {
      logger.warn({ err: e.error }, 'kafka client error')
    }),
  ]
  return () => {
    for (const unsubscribe of unsubscribes) unsubscribe()
  }
}
