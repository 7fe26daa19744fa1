import Kafka from 'node-rdkafka'
import { uniqueName } from './kafka.js'

export interface PlannedTransaction {
  outcome: 'commit' | 'abort'
  messages: Array<{ key: string; value: string }>
}

const done =
  (resolve: () => void, reject: (error: unknown) => void) =>
  (err: Kafka.LibrdKafkaError | null | undefined): void =>
    err ? reject(err) : resolve()

/**
 * Writes `plan` to one partition with a transactional producer, one transaction after
 * another. Each transaction's records are flushed to the broker before it is committed or
 * aborted, so an aborted transaction leaves its records (and its abort marker) in the log.
 */
export async function produceTransactions(bootstrapServers: string, topic: string, partition: number, plan: PlannedTransaction[]): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, 'transactional.id': uniqueName('txn'), log_level: 3 })
  const call = (f: (cb: (err: Kafka.LibrdKafkaError | null | undefined) => void) => void): Promise<void> => new Promise<void>((resolve, reject) => f(done(resolve, reject)))
  await call((cb) => producer.connect({ timeout: 10_000 }, (err) => cb(err)))
  try {
    await call((cb) => producer.initTransactions(15_000, cb))
    for (const transaction of plan) {
      await call((cb) => producer.beginTransaction(cb))
      for (const { key, value } of transaction.messages) producer.produce(topic, partition, Buffer.from(value), key)
      await call((cb) => producer.flush(10_000, cb))
      if (transaction.outcome === 'commit') await call((cb) => producer.commitTransaction(10_000, cb))
      else await call((cb) => producer.abortTransaction(10_000, cb))
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
  }
}
