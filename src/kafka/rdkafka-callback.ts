import type Kafka from 'node-rdkafka'

/** How node-rdkafka reports the end of a call: an error (null or undefined when there is none), then the value. */
export type RdkafkaCallback<T> = (err: Kafka.LibrdKafkaError | null | undefined, value: T) => void

/**
 * A node-rdkafka call that reports through a callback, as a promise. `wrap` turns
 * librdkafka's error into kvp's: what failed, with librdkafka's error as its cause.
 */
export function fromCallback<T = void>(run: (cb: RdkafkaCallback<T>) => void, wrap: (err: Kafka.LibrdKafkaError) => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => (err ? reject(wrap(err)) : resolve(value)))
  })
}
