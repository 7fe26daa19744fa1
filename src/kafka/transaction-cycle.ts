import type Kafka from 'node-rdkafka'
import { channels, type TransactionReason } from '../diagnostics.js'
import type { PartitionState } from '../dispatch/partition-state.js'
import { ErrorCodes, KvpError, describeError } from '../errors.js'
import { backoffDelay } from '../dispatch/retry-policy.js'
import type { OutputProducer } from './output-producer.js'
import { transactionFailure } from './output-producer.js'

/** What the cycle needs from the engine. */
export interface CycleParts {
  producer: OutputProducer
  consumer: Kafka.KafkaConsumer
  /** The partitions this member owns now (not revoked). */
  states(): PartitionState[]
  /** The seals of these partitions are lifted: their waiting lanes may run. */
  unsealed(states: PartitionState[]): void
  /**
   * The transaction aborted: fence these partitions and fetch them again from `offset`
   * (their last committed offset), after `delayMs`.
   */
  rewind(targets: Array<{ state: PartitionState; offset: number }>, delayMs: number): Promise<void>
}

export interface CycleOptions {
  /** How long a transaction stays open before it closes (the commit interval). */
  intervalMs: number
  /** How long closing may wait for the transaction's messages to finish, and for the commit. */
  timeoutMs: number
}

export type CloseOutcome = 'committed' | 'aborted' | 'empty'

/**
 * Exactly-once over virtual partitions. Lanes finish messages out of offset order, so at
 * any moment some messages above a partition's watermark are done and their records are
 * in the open transaction: committing then would commit records whose source offsets are
 * not committed, and a replay would write them again. So a transaction closes at a seal:
 *
 * 1. every owned partition is sealed after the last message a slice has started; lanes
 *    start nothing past the seal (a lane that is behind still runs its queued messages
 *    below it);
 * 2. once every message before each seal is done (records delivered, dead letters
 *    written), each watermark is exactly the end of what the transaction produced;
 * 3. the watermarks go to the transaction (`sendOffsetsToTransaction`, fenced by the
 *    group's generation), and it commits: records and offsets together, or neither;
 * 4. the seals lift and the next transaction begins with the next record.
 *
 * On any failure the transaction aborts and every partition is rewound to its last
 * committed offset, so what the aborted records came from runs again. A message whose
 * records fail delivery in as many transactions as its route allows attempts is then
 * dead-lettered (inside the next transaction) instead of aborting for ever.
 */
export class TransactionCycle {
  readonly #parts: CycleParts
  readonly #options: CycleOptions
  #timer: NodeJS.Timeout | undefined
  #closing: Promise<CloseOutcome> | undefined
  #wake: (() => void) | undefined
  #sealed: PartitionState[] = []
  /** A record of the open transaction failed delivery: it can only abort. */
  #doomed: KvpError | undefined
  /** `topic/partition/offset` → transactions that aborted because its records were not delivered. */
  readonly #undelivered = new Map<string, number>()
  /** Messages whose records failed in the open transaction (counted once per transaction). */
  readonly #failedNow = new Set<string>()
  #aborts = 0
  /** An abort is purging the open transaction: its records' failures are the abort's, not a message's. */
  #aborting = false
  #stopped = false
  commits = 0

  constructor(parts: CycleParts, options: CycleOptions) {
    this.#parts = parts
    this.#options = options
  }

  /** Transactions aborted so far. */
  get aborts(): number {
    return this.#aborts
  }

  /** A transaction is closing: partitions assigned now start sealed, so none of their records join it. */
  get closing(): boolean {
    return this.#closing !== undefined
  }

  start(): void {
    this.#schedule()
  }

  #schedule(): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      void this.close('interval')
    }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /** A watermark moved: a closing transaction may be ready. */
  watermarkMoved(): void {
    if (this.#wake !== undefined && this.#sealed.every((state) => state.revoked || state.settled)) this.#wake()
  }

  /** A record produced for the message at `offset` was not delivered: the open transaction must abort. */
  outputFailed(state: PartitionState, offset: number, error: KvpError): void {
    if (this.#aborting) return
    this.#blame(state, offset)
    this.#doomed ??= error
    if (this.#wake !== undefined) this.#wake()
    else if (!this.#closing) void this.close('delivery failure')
  }

  /** The open transaction aborts because of the message at `offset` (counted once per transaction). */
  #blame(state: PartitionState, offset: number): void {
    const key = `${state.topic}/${state.partition}/${offset}`
    if (this.#failedNow.has(key)) return
    this.#failedNow.add(key)
    this.#undelivered.set(key, (this.#undelivered.get(key) ?? 0) + 1)
  }

  /** Attempts the message spent in aborted transactions, once they reach its route's limit and it has a dead-letter topic. */
  undeliverable(state: PartitionState, offset: number): number | undefined {
    if (this.#undelivered.size === 0 || state.route.deadLetter === undefined) return undefined
    const attempts = this.#undelivered.get(`${state.topic}/${state.partition}/${offset}`)
    return attempts !== undefined && attempts >= state.route.maxAttempts ? attempts : undefined
  }

  /**
   * Closes the open transaction now (see the class comment): resolves 'committed',
   * 'aborted' (the partitions were rewound, but for those `leaving`) or 'empty' (nothing to commit). Closings run
   * one at a time; a close asked for during one waits for it and closes again.
   */
  async close(reason: TransactionReason, options: { rewind?: boolean; leaving?: readonly PartitionState[]; timeoutMs?: number } = {}): Promise<CloseOutcome> {
    while (this.#closing) await this.#closing
    const closing = this.#close(reason, options.rewind ?? true, options.leaving ?? [], options.timeoutMs ?? this.#options.timeoutMs)
    this.#closing = closing
    try {
      return await closing
    } finally {
      this.#closing = undefined
      this.#schedule()
    }
  }

  async #close(reason: TransactionReason, rewind: boolean, leaving: readonly PartitionState[], timeoutMs: number): Promise<CloseOutcome> {
    const started = Date.now()
    const states = this.#parts.states()
    for (const state of states) state.seal()
    this.#sealed = states
    try {
      const settled = await this.#settle(timeoutMs)
      const open = states.filter((state) => !state.revoked)
      try {
        if (this.#doomed) throw this.#doomed
        if (!settled) {
          // The first unfinished message of each partition held the transaction up (its records never reported delivery).
          for (const state of open) {
            const offset = state.settled ? undefined : state.watermark()
            if (offset !== undefined) this.#blame(state, offset)
          }
          throw new KvpError(ErrorCodes.TRANSACTION, `the transaction's messages did not finish within ${timeoutMs} ms`)
        }
        const offsets: Kafka.TopicPartitionOffset[] = []
        for (const state of open) {
          const watermark = state.watermark()
          if (watermark === undefined || (state.committed !== undefined && watermark <= state.committed)) continue
          offsets.push({ topic: state.topic, partition: state.partition, offset: watermark })
        }
        if (offsets.length === 0 && !this.#parts.producer.transactionOpen) return 'empty'
        await this.#parts.producer.commitTransaction(offsets, this.#parts.consumer, Math.max(1000, timeoutMs - (Date.now() - started)))
        this.commits++
        for (const { topic, partition, offset } of offsets) {
          const state = open.find((s) => s.topic === topic && s.partition === partition)
          state?.offsetCommitted(offset as number)
        }
        this.#forgetCommitted(open)
        this.#failedNow.clear()
        if (channels.commit.hasSubscribers) channels.commit.publish({ offsets: offsets as Array<{ topic: string; partition: number; offset: number }>, reason: `transaction ${reason}` })
        if (channels.transaction.hasSubscribers)
          channels.transaction.publish({ outcome: 'commit', reason, offsets: offsets as Array<{ topic: string; partition: number; offset: number }>, durationMs: Date.now() - started })
        return 'committed'
      } catch (error) {
        // Partitions that are leaving are not rewound: their next owner starts from the last commit.
        await this.#abort(reason, error, states, rewind ? open.filter((state) => !leaving.includes(state)) : [], started)
        return 'aborted'
      }
    } finally {
      this.#sealed = []
      this.#wake = undefined
      const current = this.#parts.states()
      for (const state of current) state.unseal()
      this.#parts.unsealed(current)
    }
  }

  /**
   * Aborts the open transaction, fencing `sealed` (every partition it covered) first: from
   * here on their acks are stale and their lanes start nothing, so no retry of an aborted
   * message can slip its records into the next transaction. Then `open` are rewound.
   */
  async #abort(reason: TransactionReason, error: unknown, sealed: readonly PartitionState[], open: PartitionState[], started: number): Promise<void> {
    for (const state of sealed) state.revoke()
    this.#aborting = true
    try {
      await this.#abortAndRewind(reason, error, open, started)
    } finally {
      this.#aborting = false
    }
  }

  async #abortAndRewind(reason: TransactionReason, error: unknown, open: PartitionState[], started: number): Promise<void> {
    this.#aborts++
    const failure = transactionFailure(error)
    const wrapped = error instanceof KvpError ? error : new KvpError(ErrorCodes.TRANSACTION, `transaction failed: ${describeError(error).message}`, { cause: error })
    const doomed = this.#doomed !== undefined
    this.#doomed = undefined
    this.#failedNow.clear()
    if (failure === 'fatal') {
      await this.#parts.producer.replace()
    } else {
      try {
        await this.#parts.producer.abortTransaction(this.#options.timeoutMs)
      } catch {
        // The producer cannot abort (fenced, or its state is lost): a new one fences it.
        await this.#parts.producer.replace()
      }
    }
    // Where to go back to is what the group has committed, read from the coordinator once
    // the transaction is over: a commit that failed on our side (a timeout while the broker
    // was away) may have committed there, and replaying from an older offset would write
    // its records twice.
    const fetched = open.filter((state) => state.fetched > 0)
    const committed = await this.#committedOffsets(fetched)
    const targets: Array<{ state: PartitionState; offset: number }> = []
    for (const state of fetched) {
      const offset = committed.get(state) ?? state.committed ?? state.firstOffset
      if (offset !== undefined) targets.push({ state, offset })
    }
    // After a delivery failure, wait as a handler retry would before running it all again.
    const attempts = Math.max(0, ...this.#undelivered.values())
    const delayMs = doomed ? backoffDelay(attempts, 100, 5000) : 0
    if (targets.length > 0) await this.#parts.rewind(targets, delayMs)
    if (channels.transaction.hasSubscribers) {
      channels.transaction.publish({
        outcome: 'abort',
        reason,
        error: wrapped,
        rewound: targets.map(({ state, offset }) => ({ topic: state.topic, partition: state.partition, offset })),
        durationMs: Date.now() - started,
      })
    }
  }

  /** Resolves true once every sealed partition is settled (or revoked), false after `timeoutMs` or on a doomed transaction. */
  #settle(timeoutMs: number): Promise<boolean> {
    const ready = (): boolean => this.#sealed.every((state) => state.revoked || state.settled)
    if (this.#doomed) return Promise.resolve(false)
    if (ready()) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const check = setInterval(() => {
        if (ready()) finish(true)
      }, 50)
      const timer = setTimeout(() => finish(false), timeoutMs)
      const finish = (value: boolean): void => {
        clearInterval(check)
        clearTimeout(timer)
        this.#wake = undefined
        resolve(value)
      }
      this.#wake = () => finish(this.#doomed === undefined && ready())
    })
  }

  /**
   * The group's committed offsets of `states`, from the coordinator (which answers only once
   * no transaction holds them). Retried for the cycle's timeout; a partition it cannot learn
   * is left out, and the caller falls back to the last commit it saw.
   */
  async #committedOffsets(states: PartitionState[]): Promise<Map<PartitionState, number>> {
    const found = new Map<PartitionState, number>()
    if (states.length === 0) return found
    const toppars = states.map((state) => ({ topic: state.topic, partition: state.partition }))
    const deadline = Date.now() + this.#options.timeoutMs
    for (;;) {
      try {
        const list = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) => this.#parts.consumer.committed(toppars, 5000, (err, offsets) => (err ? reject(err) : resolve(offsets))))
        for (const state of states) {
          const entry = list.find((tp) => tp.topic === state.topic && tp.partition === state.partition)
          if (entry !== undefined && entry.offset >= 0) found.set(state, entry.offset)
        }
        return found
      } catch (error) {
        if (Date.now() > deadline) {
          if (channels.kafkaError.hasSubscribers) {
            channels.kafkaError.publish({ error: new KvpError(ErrorCodes.KAFKA, `could not read the committed offsets to rewind to: ${describeError(error).message}`, { cause: error }) })
          }
          return found
        }
        await new Promise((resolve) => setTimeout(resolve, 250))
      }
    }
  }

  /** Undelivered counts of messages now committed (dead-lettered) are dropped. */
  #forgetCommitted(open: PartitionState[]): void {
    if (this.#undelivered.size === 0) return
    for (const key of this.#undelivered.keys()) {
      const [topic, partition, offset] = key.split('/')
      const state = open.find((s) => s.topic === topic && String(s.partition) === partition)
      if (state?.committed !== undefined && Number(offset) < state.committed) this.#undelivered.delete(key)
    }
  }

  /** Stops closing on the interval (the engine closes once more itself on stop). */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }
}
