import type Kafka from 'node-rdkafka'

/** Messages a consume call made only to serve events may bring (and drop) at most. */
const SERVE_BATCH = 1000

/**
 * The consume loop on the main thread: asks librdkafka for up to `pollSize()` messages,
 * hands them on synchronously, and asks again on the next turn of the event loop. It never
 * waits on handler work, so the consumer keeps polling (and stays in the group) however
 * slow the handlers are; paused partitions simply return nothing. A poll that returns
 * nothing calls `onIdle` before the next one is asked for: the one moment while running
 * when no consume call is in flight.
 */
export class Poller {
  readonly #consumer: Kafka.KafkaConsumer
  readonly #pollSize: () => number
  readonly #onBatch: (messages: Kafka.Message[]) => void
  readonly #onError: (error: Kafka.LibrdKafkaError) => void
  readonly #onIdle: () => void
  #running = false
  /** Messages the consume call in flight asked for; 0 when none is. */
  #asked = 0
  #stopped: (() => void) | undefined
  polls = 0

  constructor(consumer: Kafka.KafkaConsumer, pollSize: () => number, onBatch: (messages: Kafka.Message[]) => void, onError: (error: Kafka.LibrdKafkaError) => void, onIdle: () => void = () => {}) {
    this.#consumer = consumer
    this.#pollSize = pollSize
    this.#onBatch = onBatch
    this.#onError = onError
    this.#onIdle = onIdle
  }

  /** Polling is on (between start() and stop()). */
  get running(): boolean {
    return this.#running
  }

  /** Messages the consume call in flight may still bring (0 when none is in flight). */
  get asked(): number {
    return this.#asked
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#poll()
  }

  #poll = (): void => {
    if (!this.#running) {
      this.#stopped?.()
      return
    }
    this.#asked = this.#pollSize()
    this.#consumer.consume(this.#asked, (err, messages) => {
      this.#asked = 0
      this.polls++
      if (err) {
        this.#onError(err)
        if (this.#running) setTimeout(this.#poll, 100)
        else this.#stopped?.()
        return
      }
      if (!this.#running) {
        this.#stopped?.()
        return
      }
      if (messages.length === 0) this.#onIdle()
      // Ask for the next batch first: librdkafka fills it on its own thread while this one
      // is dispatched. Only one consume call is ever in flight, so batches stay in order.
      this.#poll()
      if (messages.length > 0) this.#onBatch(messages)
    })
  }

  /**
   * Once stopped: one consume call, so that librdkafka serves what it queued for the
   * application (a rebalance callback is only ever called from inside one). Messages it
   * returns are dropped: never dispatched, never stored, so never committed; the next
   * owner of their partition reads them again.
   */
  serveEvents(): Promise<void> {
    if (this.#running || this.#asked > 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#consumer.consume(SERVE_BATCH, () => resolve())
    })
  }

  /** Stops polling; resolves once the consume call in progress has returned. */
  stop(): Promise<void> {
    this.#running = false
    if (this.#asked === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#stopped = resolve
    })
  }
}
