import { performance } from 'node:perf_hooks'
import Kafka from 'node-rdkafka'
import { SliceProgress } from './codec/slice-progress.js'
import type { EngineOptions } from './config/options.js'
import { resolveOptions } from './config/resolve.js'
import type { ResolvedOptions } from './config/resolve.js'
import { channels } from './diagnostics.js'
import { Dispatcher } from './dispatch/dispatcher.js'
import type { PartitionState } from './dispatch/partition-state.js'
import { WorkerPool } from './dispatch/pool.js'
import type { WorkerStats } from './dispatch/pool.js'
import { engineStats } from './engine-stats.js'
import { ConfigError, ErrorCodes, KvpError, describeError } from './errors.js'
import { Assignments } from './kafka/assignments.js'
import { Backpressure } from './kafka/backpressure.js'
import { Committer } from './kafka/committer.js'
import { consumerConfig } from './kafka/consumer-config.js'
import { connectConsumer, disconnectConsumer } from './kafka/consumer-connection.js'
import { DeadLetterWriter, warnIfDeadLettersLoseBinaryHeaders } from './kafka/dead-letter.js'
import { FaultReporter } from './kafka/fault-reporter.js'
import type { ActiveFault } from './kafka/fault-watch.js'
import { FetchPositions } from './kafka/fetch-positions.js'
import { Handover } from './kafka/handover.js'
import { readKnownDone } from './kafka/offset-map-reader.js'
import { HighWatermarks } from './kafka/high-watermarks.js'
import { startMockCluster } from './kafka/mock-cluster.js'
import type { MockCluster } from './kafka/mock-cluster.js'
import { OutputProducer } from './kafka/output-producer.js'
import { forEachPartitionRun } from './kafka/partition-runs.js'
import type { RunTarget } from './kafka/partition-runs.js'
import { PollSize } from './kafka/poll-size.js'
import { Poller } from './kafka/poller.js'
import { RebalanceHandler } from './kafka/rebalance.js'
import { TransactionCycle } from './kafka/transaction-cycle.js'
import { LoopUtilization } from './loop-utilization.js'
import { routePartitioning } from './partitioning/route-partitioning.js'
import type { RoutePartitioning } from './partitioning/route-partitioning.js'
import type { EngineStats } from './stats.js'

export interface Engine {
  /** The Kafka bootstrap address in use (the embedded cluster's, for `brokers: 'mock'`). */
  readonly bootstrapServers: string
  /** A snapshot of per-partition progress. */
  stats(): EngineStats
  /** The worker threads: how many are alive and how busy each is. */
  workers(): WorkerStats
  /** The consume loop is running (false before start, while rewinding, and once stopping). */
  readonly polling: boolean
  /** Stops fetching, lets in-flight slices finish, commits, and closes everything. */
  stop(): Promise<void>
  /** Resolves when the engine has stopped (by `stop()` or a fatal error). */
  readonly stopped: Promise<void>
  /**
   * Why the engine stopped itself, once it has: a fault only a change of build or settings
   * can fix (a codec the build lacks). Undefined while running and after a plain `stop()`.
   */
  readonly failure: KvpError | undefined
  /** Client errors that stop progress and are still in force (credentials, TLS, ACLs, topics, codecs, unreadable batches). */
  faults(): ActiveFault[]
}

/** Leaving the group on stop waits for the revoke at most this much past revokeTimeoutMs. */
const LEAVE_GRACE_MS = 5000

/** Slices in flight at most (each needs a shared progress counter): 256 KiB of counters. */
const PROGRESS_SLOTS = 65_536
/** The main thread's load, as the poll size reads it, is measured over windows this long. */
const MAIN_LOOP_WINDOW_MS = 250

class KvpEngine implements Engine {
  readonly bootstrapServers: string
  readonly stopped: Promise<void>
  readonly #options: ResolvedOptions
  readonly #topics: string[]
  readonly #mock: MockCluster | undefined
  readonly #pool: WorkerPool
  readonly #consumer: Kafka.KafkaConsumer
  readonly #committer: Committer
  readonly #dispatcher: Dispatcher
  readonly #backpressure: Backpressure
  readonly #rebalance: RebalanceHandler
  readonly #poller: Poller
  readonly #pollSizing: PollSize
  readonly #positions: FetchPositions
  readonly #highWatermarks: HighWatermarks
  readonly #assignments: Assignments
  readonly #handover: Handover
  /** Where each fetched batch's runs of one partition go. */
  readonly #runs: RunTarget
  readonly #deadLetters: DeadLetterWriter
  readonly #producer: OutputProducer
  /** Exactly-once: the transaction cycle; undefined for at-least-once. */
  readonly #transactions: TransactionCycle | undefined
  #stopping: Promise<void> | undefined
  #resolveStopped!: () => void
  #finalStats: EngineStats | undefined
  readonly #faults: FaultReporter
  #failure: KvpError | undefined
  /** While connecting: fails the start at once on a fault that connecting cannot get past. */
  #failStart: ((error: KvpError) => void) | undefined

  constructor(options: ResolvedOptions, routes: ReadonlyMap<string, RoutePartitioning>, bootstrapServers: string, mock: MockCluster | undefined, pool: WorkerPool, progress: SliceProgress) {
    this.#options = options
    this.#topics = [...routes.keys()]
    // A partition that leaves is resumed in the consumer if backpressure paused it.
    this.#assignments = new Assignments(routes, (state) => this.#backpressure.forget(state))
    this.bootstrapServers = bootstrapServers
    this.#mock = mock
    this.#pool = pool
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
    this.#faults = new FaultReporter(
      { groupId: options.groupId },
      {
        unreadable: (topic, partition, offset) => {
          const state = this.#assignments.lookup(topic, partition)
          if (state) {
            state.stopAt(offset)
            this.#backpressure.stop(state)
          }
        },
        refused: (error) => this.#failStart?.(error),
        permanent: (error) => this.#fail(error),
      },
    )
    const faults = this.#faults
    this.#rebalance = new RebalanceHandler({
      assigned: (partitions) => this.#handover.assigned(partitions),
      revoking: (partitions) => this.#handover.revoking(partitions),
      failed: (error) => faults.clientError(error, 'consume'),
    })
    const config = consumerConfig(options, bootstrapServers, this.#rebalance.callback)
    this.#consumer = new Kafka.KafkaConsumer(config.global, config.topic)
    this.#consumer.on('event.error', (error) => faults.clientError(error, 'client'))
    // librdkafka says why a connection failed (refused credentials, a certificate) only in its FAIL log line.
    this.#consumer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
      if (log.fac === 'FAIL') faults.clientError({ message: log.message }, 'client', undefined, true)
    })
    this.#consumer.setDefaultConsumeTimeout(options.pollTimeoutMs)
    this.#rebalance.attach(this.#consumer)
    const committer = new Committer(this.#consumer, options.exactlyOnce ? 0 : options.offsetMapMaxBytes)
    this.#committer = committer
    this.#consumer.on('offset.commit', (err, offsets) => committer.committed((topic, partition) => this.#assignments.lookup(topic, partition), err, offsets))
    this.#backpressure = new Backpressure(this.#consumer, options)
    const producer = new OutputProducer(bootstrapServers, options.producer, options.exactlyOnce?.transactionalId, {
      error: (error, topic) => faults.clientError(error, 'produce', topic),
      log: (message) => faults.clientError({ message }, 'produce', undefined, true),
      delivered: (topic) => faults.delivered(topic),
    })
    this.#producer = producer
    const deadLetters = new DeadLetterWriter(bootstrapServers, producer)
    this.#deadLetters = deadLetters
    const transactions =
      options.exactlyOnce === undefined
        ? undefined
        : new TransactionCycle(
            {
              producer,
              consumer: this.#consumer,
              states: () => this.#assignments.all().filter((state) => !state.revoked),
              unsealed: (states) => this.#dispatcher.unsealed(states),
              rewind: (targets, delayMs) => this.#rewind(targets, delayMs),
            },
            { intervalMs: options.exactlyOnce.intervalMs, timeoutMs: options.revokeTimeoutMs },
          )
    this.#transactions = transactions
    // At-least-once: a moved watermark is stored for the next commit. Exactly-once: it may complete a closing transaction.
    const watermarkMoved = transactions ? () => transactions.watermarkMoved() : (state: PartitionState) => this.#committer.watermarkMoved(state)
    this.#dispatcher = new Dispatcher(options, pool, progress, {
      watermarkMoved,
      fetched: (state) => this.#backpressure.afterFetch(state, this.#assignments.bytes, () => this.#assignments.all(), this.#poller.asked),
      acksApplied: () => this.#backpressure.afterAcks(this.#assignments.bytes),
      deadLetter: (state, message, error, attempts) => deadLetters.write(state, message, error, attempts),
      produce: (records, counts, done) => producer.send(records, counts, done),
      ...(transactions && {
        outputFailed: (state: PartitionState, offset: number, error: KvpError) => transactions.outputFailed(state, offset, error),
        undeliverable: (state: PartitionState, offset: number) => transactions.undeliverable(state, offset),
      }),
    })
    this.#handover = new Handover(
      {
        assignments: this.#assignments,
        generation: () => this.#rebalance.generation,
        faults,
        dispatcher: this.#dispatcher,
        committer,
        transactions,
        stopping: () => this.#stopping !== undefined,
        // At-least-once commits carry offset maps; exactly-once commits offsets inside transactions, without them.
        ...(transactions === undefined && options.offsetMapMaxBytes > 0 ? { knownDone: (partitions: Kafka.Assignment[]) => readKnownDone(this.#consumer, partitions) } : {}),
      },
      options.revokeTimeoutMs,
    )
    this.#runs = {
      lookup: (topic, partition) => this.#assignments.lookup(topic, partition),
      run: (state, messages) => this.#dispatcher.accept(state, messages),
      started: (topic) => faults.fetched(topic),
    }
    this.#positions = new FetchPositions(this.#consumer, watermarkMoved)
    this.#highWatermarks = new HighWatermarks(this.#consumer)
    const mainThread = new LoopUtilization((current, previous) => performance.eventLoopUtilization(current, previous), MAIN_LOOP_WINDOW_MS)
    this.#pollSizing = new PollSize({ large: options.batchSize, small: options.backedUpBatchSize }, () => mainThread.read())
    this.#poller = new Poller(
      this.#consumer,
      this.#pollSize,
      (messages) => this.#onBatch(messages),
      (error) => faults.clientError(error, 'consume'),
      () => this.#positions.advance(this.#assignments.all()),
    )
  }

  async start(): Promise<void> {
    // The dispatcher hears of every ack and of every worker thread that dies.
    this.#pool.start(this.#dispatcher)
    // Exactly-once: the transactional id is registered (fencing a predecessor's open transaction) before anything is read.
    if (this.#transactions) {
      try {
        await this.#producer.connect()
      } catch (error) {
        throw new KvpError(ErrorCodes.TRANSACTION, `could not start the transactional producer: ${describeError(error).message}`, { cause: error })
      }
    }
    await this.#connect()
    this.#consumer.subscribe(this.#topics)
    this.#poller.start()
    this.#transactions?.start()
    // A watermark held back by a slow message must not freeze the offset map saved above it.
    if (!this.#transactions) this.#committer.startMapCommits(() => this.#assignments.all())
    if (channels.lifecycle.hasSubscribers) channels.lifecycle.publish({ state: 'running', bootstrapServers: this.bootstrapServers, groupId: this.#options.groupId })
  }

  /** Connects the consumer (./kafka/consumer-connection.ts); a credentials or TLS fault reported meanwhile fails the start. */
  async #connect(): Promise<void> {
    let fatal: KvpError | undefined
    this.#failStart = (error) => {
      fatal ??= error
    }
    try {
      await connectConsumer(this.#consumer, { fatal: () => fatal, active: () => this.#faults.active() })
    } finally {
      this.#failStart = undefined
    }
  }

  /** Stops the engine for a fault it cannot get past; `failure` says which. */
  #fail(error: KvpError): void {
    if (this.#failure !== undefined || this.#stopping) return
    this.#failure = error
    this.#failStart?.(error)
    void this.stop()
  }

  get failure(): KvpError | undefined {
    return this.#failure
  }

  faults(): ActiveFault[] {
    return this.#faults.active()
  }

  #onBatch(messages: Kafka.Message[]): void {
    forEachPartitionRun(messages, this.#runs)
    this.#dispatcher.flush()
  }

  /**
   * Exactly-once, after an abort: each partition's state is fenced and replaced, and the
   * consumer fetches it again from `offset`. Polling stops meanwhile, so no message
   * fetched before the seek reaches the new state.
   */
  async #rewind(targets: Array<{ state: PartitionState; offset: number }>, delayMs: number): Promise<void> {
    await this.#poller.stop()
    for (const { state, offset } of targets) {
      if (this.#assignments.restarted(state) === undefined) continue
      await new Promise<void>((resolve) => {
        this.#consumer.seek({ topic: state.topic, partition: state.partition, offset }, 5000, (err) => {
          if (err) this.#kafkaError(new KvpError(ErrorCodes.KAFKA, `could not rewind ${state.topic}[${state.partition}] to offset ${offset}: ${err.message}`, { cause: err }))
          resolve()
        })
      })
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    if (!this.#stopping) this.#poller.start()
  }

  /** The next poll's size: smaller while messages wait in lanes for a worker and the main thread has room (src/kafka/poll-size.ts). */
  #pollSize = (): number => {
    if (this.#options.backedUpBatchSize === this.#options.batchSize) return this.#options.batchSize
    return this.#pollSizing.next(this.#assignments.inFlight - this.#pool.messagesInFlight)
  }

  #kafkaError(error: unknown): void {
    if (channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
  }

  stats(): EngineStats {
    if (this.#finalStats) return this.#finalStats
    const connected = this.#consumer.isConnected()
    return engineStats(this.#assignments.all(), {
      slicesInFlight: this.#dispatcher.slicesInFlight,
      commits: this.#committer.commits + (this.#transactions?.commits ?? 0),
      generation: this.#rebalance.generation,
      highWatermark: (state) => (connected ? this.#highWatermarks.read(state.topic, state.partition, !state.paused) : undefined),
    })
  }

  workers(): WorkerStats {
    return this.#pool.stats()
  }

  get polling(): boolean {
    return this.#poller.running
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    if (channels.lifecycle.hasSubscribers) channels.lifecycle.publish({ state: 'stopping' })
    // No position read here: the batch of the consume call that stop() waited for is
    // dropped, and the position already counts it.
    this.#committer.stopMapCommits()
    await this.#poller.stop()
    let drained: boolean
    if (this.#transactions) {
      // Everything fetched belongs to the last transaction: it runs to the end and commits, or aborts.
      this.#transactions.stop()
      drained = (await this.#transactions.close('stop', { rewind: false })) !== 'aborted'
      this.#dispatcher.stopDispatching()
    } else {
      this.#dispatcher.stopDispatching()
      drained = await this.#dispatcher.drain(this.#options.revokeTimeoutMs)
    }
    const states = this.#assignments.all()
    for (const state of states) for (const lane of state.lanes) lane?.cancelTimer()
    if (!this.#transactions) {
      this.#committer.storeDirty()
      try {
        await this.#committer.commitSync(states, 'stop', Date.now() + 5000)
      } catch (error) {
        this.#kafkaError(error)
      }
    }
    this.#finalStats = this.stats()
    for (const state of states) state.revoke()
    // Out of the group before the close, so that closing raises no rebalance (./kafka/rebalance.ts).
    // A static member (group.instance.id) keeps its place instead: KIP-345 has it not leave
    // on close, so that a restart within the session timeout gets its partitions back.
    if (this.#options.kafka['group.instance.id'] === undefined) await this.#rebalance.leave(this.#options.revokeTimeoutMs + LEAVE_GRACE_MS, () => this.#poller.serveEvents())
    await disconnectConsumer(this.#consumer)
    await this.#pool.close()
    await this.#deadLetters.close()
    await this.#producer.close()
    await this.#mock?.stop()
    if (channels.lifecycle.hasSubscribers) channels.lifecycle.publish({ state: 'stopped', drained })
    this.#resolveStopped()
  }
}

/**
 * A route's handler that failed to load (probed in a worker) as the ConfigError that fails
 * the start. A ConfigError names its option and says what was wrong already, and goes on as
 * it is; anything else (an import that failed, a module with no function) names the route's
 * handler. Errors from a worker arrive as plain Errors, so in practice it is the handler.
 */
function handlerLoadError(error: unknown, routeIndex: number): ConfigError {
  if (error instanceof ConfigError) return error
  return new ConfigError(`topics[${routeIndex}].handler`, describeError(error).message, error)
}

/**
 * Starts an engine: validates options (a wrong one throws a ConfigError naming it),
 * loads each handler once in a worker, connects, subscribes and starts polling.
 */
export async function startEngine(input: EngineOptions): Promise<Engine> {
  const options = resolveOptions(input)
  warnIfDeadLettersLoseBinaryHeaders(options.routes)
  const routes = new Map<string, RoutePartitioning>()
  for (const route of options.routes) routes.set(route.topic, routePartitioning(route))

  const progress = new SliceProgress(PROGRESS_SLOTS)
  const pool = new WorkerPool({
    progress: progress.buffer,
    threads: options.threads,
    concurrencyPerThread: options.concurrencyPerThread,
    routes: options.routes.map((route) => ({ topic: route.topic, handlerUrl: route.handlerUrl, payload: route.payload, manualOffsets: route.manualOffsets, handlerTimeoutMs: route.handlerTimeoutMs })),
  })
  let mock: MockCluster | undefined
  try {
    for (const route of options.routes) {
      try {
        await pool.probe(route.index)
      } catch (error) {
        throw handlerLoadError(error, route.index)
      }
    }
    let bootstrapServers = options.brokers
    if (options.brokers === 'mock') {
      mock = await startMockCluster({ brokers: options.mockBrokers })
      bootstrapServers = mock.bootstrapServers
    }
    const engine = new KvpEngine(options, routes, bootstrapServers, mock, pool, progress)
    await engine.start()
    return engine
  } catch (error) {
    await pool.close().catch(() => {})
    await mock?.stop().catch(() => {})
    throw error
  }
}
