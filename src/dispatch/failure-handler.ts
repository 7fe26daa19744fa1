import type { Message as KafkaMessage } from 'node-rdkafka'
import type { WireSliceAck } from '../codec/slice-codec.js'
import { channels } from '../diagnostics.js'
import { ErrorCodes, KvpError, describeError, isErrorCode } from '../errors.js'
import type { PartitionLane, PartitionState } from './partition-state.js'
import { backoffDelay, failureOutcome } from './retry-policy.js'

export interface FailureCallbacks {
  /** The lane may run again (its backoff is over). */
  resume(state: PartitionState, lane: PartitionLane): void
  /** The lane's head message was dead-lettered (the lane knows): count it done in its partition. */
  deadLettered(state: PartitionState, lane: PartitionLane): void
  /** Produce to the route's dead-letter topic; resolves on the delivery report. */
  deadLetter(state: PartitionState, message: KafkaMessage, error: KvpError, attempts: number): Promise<void>
}

/**
 * The error policy of a lane whose head message failed: retry it in the lane after a
 * backoff (the lane waits, other lanes go on), or once its attempts are spent (or its
 * payload cannot be decoded) write it to the dead-letter topic, retrying that write until
 * a delivery report says it landed. Nothing is ever skipped.
 */
export class FailureHandler {
  readonly #callbacks: FailureCallbacks

  constructor(callbacks: FailureCallbacks) {
    this.#callbacks = callbacks
  }

  failed(state: PartitionState, lane: PartitionLane, ack: WireSliceAck): void {
    const route = state.route
    const attempt = lane.attempt
    state.handlerFailed()
    const code = isErrorCode(ack.errorCode) ? ack.errorCode : ErrorCodes.HANDLER
    const error = new KvpError(code, ack.errorMessage)
    if (ack.errorStack) error.stack = ack.errorStack
    const message = lane.headMessage()
    const outcome = failureOutcome(attempt, route.maxAttempts, route.deadLetter !== undefined, error.code)
    const delayMs = outcome === 'retry' ? backoffDelay(attempt, route.backoffMs, route.maxBackoffMs) : 0
    if (channels.handlerError.hasSubscribers) {
      channels.handlerError.publish({ topic: state.topic, partition: state.partition, offset: message.offset, attempt, error, willRetry: outcome === 'retry', delayMs })
    }
    if (outcome === 'retry') {
      lane.retryAfter(delayMs, () => this.#callbacks.resume(state, lane))
      return
    }
    lane.awaitDeadLetter()
    this.#deadLetter(state, lane, message, error, attempt, 1)
  }

  #deadLetter(state: PartitionState, lane: PartitionLane, message: KafkaMessage, error: KvpError, attempts: number, tries: number): void {
    this.#callbacks.deadLetter(state, message, error, attempts).then(
      () => {
        if (state.revoked) return
        // Safe commits (docs/guarantees.md): a dead-lettered offset counts as done only after its delivery report.
        if (channels.deadLetter.hasSubscribers) {
          channels.deadLetter.publish({ topic: state.topic, partition: state.partition, offset: message.offset, deadLetterTopic: state.route.deadLetter?.topic, error })
        }
        lane.deadLetterDelivered()
        this.#callbacks.deadLettered(state, lane)
      },
      (produceError: unknown) => {
        if (state.revoked) return
        const delayMs = backoffDelay(tries, state.route.backoffMs, state.route.maxBackoffMs)
        if (channels.handlerError.hasSubscribers) {
          const wrapped = new KvpError(
            ErrorCodes.DEAD_LETTER,
            `could not write offset ${message.offset} to dead-letter topic '${state.route.deadLetter?.topic}': ${describeError(produceError).message}; retrying in ${delayMs} ms`,
            { cause: produceError },
          )
          channels.handlerError.publish({ topic: state.topic, partition: state.partition, offset: message.offset, attempt: attempts, error: wrapped, willRetry: true, delayMs })
        }
        lane.retryDeadLetterAfter(delayMs, () => {
          if (!state.revoked) this.#deadLetter(state, lane, message, error, attempts, tries + 1)
        })
      },
    )
  }
}
