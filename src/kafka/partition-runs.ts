import type Kafka from 'node-rdkafka'
import type { PartitionState } from '../dispatch/partition-state.js'

/** Where a fetched batch's runs go. */
export interface RunTarget {
  /** The state of a partition this member owns, or undefined. */
  lookup(topic: string, partition: number): PartitionState | undefined
  /** One run: consecutive messages of one owned partition, in offset order (never empty). */
  run(state: PartitionState, messages: Kafka.Message[]): void
  /** A run of `topic` begins, before it is looked up: messages of it arrived, owned or not. */
  started(topic: string): void
}

/**
 * Splits a fetched batch into runs of one partition, keeping offset order; most batches are
 * long runs of one partition. A message of a partition this member does not (or no longer)
 * own is left for its owner, and so is one at or past a batch librdkafka could not read
 * (PartitionState.stopAt).
 */
export function forEachPartitionRun(messages: readonly Kafka.Message[], target: RunTarget): void {
  let runState: PartitionState | undefined
  let run: Kafka.Message[] = []
  let runTopic = ''
  let runPartition = -1
  let runLimit = Number.POSITIVE_INFINITY
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as Kafka.Message
    if (message.partition !== runPartition || message.topic !== runTopic) {
      if (runState && run.length > 0) target.run(runState, run)
      target.started(message.topic)
      runTopic = message.topic
      runPartition = message.partition
      runState = target.lookup(runTopic, runPartition)
      runLimit = runState?.stoppedAt ?? Number.POSITIVE_INFINITY
      run = []
    }
    if (runState && message.offset < runLimit) run.push(message)
  }
  if (runState && run.length > 0) target.run(runState, run)
}
