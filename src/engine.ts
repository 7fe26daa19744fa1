import { performance } from 'node:perf_hooks'
import Kafka from 'node-rdkafka'
import { loadProtobufType, protobufToObject } from './codec/payload-codec.js'
import type { EngineOptions } from './config/options.js'
import { resolveOptions } from './config/resolve.js'
import type { ResolvedOptions, ResolvedRoute } from './config/resolve.js'
import { channels } from './diagnostics.js'
import { Dispatcher } from './dispatch/dispatcher.js'
import { PartitionState } from './dispatch/partition-state.js'
import { partitionStats } from './dispatch/partition-stats.js'
import { WorkerPool } from './dispatch/pool.js'
import { SliceProgress } from './codec/slice-progress.js'
import { ConfigError, ErrorCodes, KvpError, describeError } from './errors.js'
import { Backpressure } from './kafka/backpressure.js'
import { Committer } from './kafka/committer.js'
import { consumerConfig } from './kafka/consumer-config.js'
import { FetchPositions } from './kafka/fetch-positions.js'
import { DeadLetterWriter, warnIfDeadLettersLoseBinaryHeaders } from './kafka/dead-letter.js'
import { startMockCluster } from './kafka/mock-cluster.js'
import type { MockCluster } from './kafka/mock-cluster.js'
import { OutputProducer } from './kafka/output-producer.js'
import { Poller } from './kafka/poller.js'
import { PollSize } from './kafka/poll-size.js'
import { LoopUtilization } from './loop-utilization.js'
import { RebalanceHandler } from './kafka/rebalance.js'
import { TransactionCycle } from './kafka/transaction-cycle.js'
import { createDistributor } from './partitioning/distributor.js'
import type { Distributor } from './partitioning/distributor.js'
import { createKeyExtractor } from './partitioning/partitioner.js'
import type { KeyExtractor } from './partitioning/partitioner.js'
import type { EngineStats, PartitionStats } from './stats.js'
import { HighWatermarks } from './kafka/high-watermarks.js'
import { classifyClientError, describeFault, FaultKinds } from './kafka/client-fault.js'
import type { FaultOrigin } from './kafka/client-fault.js'
import { FaultWatch } from './kafka/fault-watch.js'
import type { ActiveFault } from './kafka/fault-watch.js'
import type { WorkerStats } from './dispatch/pool.js'

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

/** How long a revoke retries commits that fail because the group is rebalancing. */
const REVOKE_GENERATION_RETRY_MS = 1000
/** Leaving the group on stop waits for the revoke at most this much past revokeTimeoutMs. */
const LEAVE_GRACE_MS = 5000

/** Slices in flight at most (each needs a shared progress counter): 256 KiB of counters. */
const PROGRESS_SLOTS = 65_536
/** The main thread's load, as the poll size reads it, is measured over windows this long. */
const MAIN_LOOP_WINDOW_MS = 250

interface RouteRuntime {
  route: ResolvedRoute
  extract: KeyExtractor
  distributor: () => Distributor
}

/** How long connecting (the first metadata request) may take before start fails. */
export const CONNECT_TIMEOUT_MS = 15_000
/**
 * The first connect attempt waits this long for its metadata, each later one twice as long. A failed attempt returns the client
 * to a state it can be closed in, so a start that a fault fails (credentials, TLS) ends within
 * one attempt instead of leaving a client blocked in its metadata call for the whole timeout.
 */
const CONNECT_ATTEMPT_MS = 2_000

function connect(consumer: Kafka.KafkaConsumer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    consumer.connect({ timeout: timeoutMs }, (err) => {
      if (err) reject(err)
      else resolve()
    })
  })
}

function disconnect(consumer: Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!consumer.isConnected()) {
      resolve()
      return
    }
    consumer.disconnect(() => resolve())
  })
}

class KvpEngine implements Engine {
  readonly bootstrapServers: string
  readonly stopped: Promise<void>
  readonly #options: ResolvedOptions
  readonly #routes: Map<string, RouteRuntime>
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
  readonly #states = new Map<string, Array<PartitionState | undefined>>()
  readonly #deadLetters: DeadLetterWriter
  readonly #producer: OutputProducer
  /** Exactly-once: the transaction cycle; undefined for at-least-once. */
  readonly #transactions: TransactionCycle | undefined
  #stopping: Promise<void> | undefined
  #resolveStopped!: () => void
  #finalStats: EngineStats | undefined
  readonly #faults = new FaultWatch()
  #failure: KvpError | undefined
  /** While connecting: fails the start at once on a fault that connecting cannot get past. */
  #failStart: ((error: KvpError) => void) | undefined

  constructor(options: ResolvedOptions, routes: Map<string, RouteRuntime>, bootstrapServers: string, mock: MockCluster | undefined, pool: WorkerPool, progress: SliceProgress) {
    this.#options = options
    this.#routes = routes
    this.bootstrapServers = bootstrapServers
    this.#mock = mock
    this.#pool = pool
    this.stopped = new Promise((resolve) => {
      this.#resolveStopped = resolve
    })
    this.#rebalance = new RebalanceHandler({
      assigned: (partitions) => this.#assigned(partitions),
      revoking: (partitions) => this.#revoking(partitions),
      failed: (error) => this.#clientError(error, 'consume'),
    })
    const config = consumerConfig(options, bootstrapServers, this.#rebalance.callback)
    this.#consumer = new Kafka.KafkaConsumer(config.global, config.topic)
    this.#consumer.on('event.error', (error) => this.#clientError(error, 'client'))
    // librdkafka says why a connection failed (refused credentials, a certificate) only in its FAIL log line.
    this.#consumer.on('event.log', (log: { severity: number; fac: string; message: string }) => {
      if (log.fac === 'FAIL') this.#clientError({ message: log.message }, 'client', undefined, true)
    })
    this.#consumer.setDefaultConsumeTimeout(options.pollTimeoutMs)
    this.#rebalance.attach(this.#consumer)
    const committer = new Committer(this.#consumer)
    this.#committer = committer
    this.#consumer.on('offset.commit', (err, offsets) => committer.committed(this.#state, err, offsets))
    this.#backpressure = new Backpressure(this.#consumer, options)
    const producer = new OutputProducer(bootstrapServers, options.producer, options.exactlyOnce?.transactionalId, {
      error: (error, topic) => this.#clientError(error, 'produce', topic),
      log: (message) => this.#clientError({ message }, 'produce', undefined, true),
      delivered: (topic) => {
        if (this.#faults.size > 0) this.#faultsCleared(this.#faults.producerDelivered(topic))
      },
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
              states: () => this.#allStates().filter((state) => !state.revoked),
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
      fetched: (state) => this.#backpressure.afterFetch(state, this.#inFlightBytes(), () => this.#allStates(), this.#poller.asked),
      acksApplied: () => this.#backpressure.afterAcks(this.#inFlightBytes()),
      deadLetter: (state, message, error, attempts) => deadLetters.write(state, message, error, attempts),
      produce: (records, counts, done) => producer.send(records, counts, done),
      ...(transactions && {
        outputFailed: (state: PartitionState, offset: number, error: KvpError) => transactions.outputFailed(state, offset, error),
        undeliverable: (state: PartitionState, offset: number) => transactions.undeliverable(state, offset),
      }),
    })
    this.#positions = new FetchPositions(this.#consumer, watermarkMoved)
    this.#highWatermarks = new HighWatermarks(this.#consumer)
    const mainThread = new LoopUtilization((current, previous) => performance.eventLoopUtilization(current, previous), MAIN_LOOP_WINDOW_MS)
    this.#pollSizing = new PollSize({ large: options.batchSize, small: options.backedUpBatchSize }, () => mainThread.read())
    this.#poller = new Poller(
      this.#consumer,
      this.#pollSize,
      (messages) => this.#onBatch(messages),
      (error) => this.#clientError(error, 'consume'),
      () => this.#positions.advance(this.#allStates()),
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
    this.#consumer.subscribe([...this.#routes.keys()])
    this.#poller.start()
    this.#transactions?.start()
    if (channels.lifecycle.hasSubscribers) channels.lifecycle.publish({ state: 'running', bootstrapServers: this.bootstrapServers, groupId: this.#options.groupId })
  }

  /**
   * Connects the consumer, in attempts of CONNECT_ATTEMPT_MS up to CONNECT_TIMEOUT_MS. A fault
   * that connecting cannot get past (credentials, TLS) fails the start once the attempt it
   * happened in returns (librdkafka reports it within a second against a reachable broker),
   * and a start that times out names the last such fault rather than "broker transport failure".
   */
  async #connect(): Promise<void> {
    const deadline = Date.now() + CONNECT_TIMEOUT_MS
    let fatal: KvpError | undefined
    this.#failStart = (error) => {
      fatal ??= error
    }
    try {
      // Each attempt waits twice as long as the one before: a cluster slow to answer (far away, TLS and SASL first) still gets one long try.
      for (let wait = CONNECT_ATTEMPT_MS; ; wait *= 2) {
        try {
          await connect(this.#consumer, Math.max(1, Math.min(wait, deadline - Date.now())))
          return
        } catch (err) {
          if (fatal !== undefined) throw fatal
          if (Date.now() >= deadline) {
            const fault = this.#faults.active().find((f) => f.kind === FaultKinds.AUTHENTICATION || f.kind === FaultKinds.TLS)
            if (fault) throw new KvpError(fault.code, describeFault(fault), { cause: err, retryable: false })
            throw new KvpError(ErrorCodes.KAFKA, `could not connect the consumer within ${CONNECT_TIMEOUT_MS} ms: ${describeError(err).message}`, { cause: err })
          }
        }
      }
    } finally {
      this.#failStart = undefined
    }
  }

  /**
   * A librdkafka error from the consumer's fetches (`consume`), its background threads
   * (`client`) or a producer's write (`produce`). One that stops progress becomes a fault:
   * logged as an error with its cause and fix, shown on /status, counted; an unreadable
   * batch stops its partition there; a codec the build lacks stops the engine.
   */
  #clientError(error: unknown, origin: FaultOrigin, topic?: string, faultsOnly = false): void {
    const fault = classifyClientError(error, { origin, groupId: this.#options.groupId, features: Kafka.features, ...(topic === undefined ? {} : { topic }) })
    if (fault === undefined) {
      if (!faultsOnly) this.#kafkaError(error)
      return
    }
    if ((fault.kind === FaultKinds.CODEC || fault.kind === FaultKinds.CORRUPT_BATCH) && fault.topic !== undefined && fault.partition !== undefined && fault.offset !== undefined) {
      const state = this.#state(fault.topic, fault.partition)
      if (state) {
        state.stopAt(fault.offset)
        this.#backpressure.stop(state)
      }
    }
    const kvpError = new KvpError(fault.code, describeFault(fault), { cause: error, retryable: false })
    const reported = this.#faults.report(fault)
    if (reported && channels.fault.hasSubscribers) channels.fault.publish({ fault: reported.fault, error: kvpError, repeat: reported.repeat })
    if (fault.kind === FaultKinds.AUTHENTICATION || fault.kind === FaultKinds.TLS) this.#failStart?.(kvpError)
    if (fault.permanent) this.#fail(kvpError)
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

  #faultsCleared(cleared: ActiveFault[]): void {
    if (cleared.length === 0 || !channels.faultCleared.hasSubscribers) return
    for (const fault of cleared) channels.faultCleared.publish({ fault })
  }

  #state = (topic: string, partition: number): PartitionState | undefined => this.#states.get(topic)?.[partition]

  #allStates(): PartitionState[] {
    const all: PartitionState[] = []
    for (const list of this.#states.values()) for (const state of list) if (state) all.push(state)
    return all
  }

  #onBatch(messages: Kafka.Message[]): void {
    // Group by partition, keeping offset order; most batches are long runs of one partition.
    let runState: PartitionState | undefined
    let run: Kafka.Message[] = []
    let runTopic = ''
    let runPartition = -1
    // Messages at or past a batch librdkafka could not read are not taken (PartitionState.stopAt).
    let runLimit = Number.POSITIVE_INFINITY
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as Kafka.Message
      if (message.partition !== runPartition || message.topic !== runTopic) {
        if (runState && run.length > 0) this.#dispatcher.accept(runState, run)
        if (this.#faults.size > 0) this.#faultsCleared([...this.#faults.topicProgressed(message.topic), ...this.#faults.clientProgressed()])
        runTopic = message.topic
        runPartition = message.partition
        runState = this.#state(runTopic, runPartition)
        runLimit = runState?.stoppedAt ?? Number.POSITIVE_INFINITY
        run = []
      }
      // A message of a partition that is not (or no longer) ours is left for its owner.
      if (runState && message.offset < runLimit) run.push(message)
    }
    if (runState && run.length > 0) this.#dispatcher.accept(runState, run)
    this.#dispatcher.flush()
  }

  #assigned(partitions: Kafka.Assignment[]): void {
    const generation = this.#rebalance.generation
    for (const { topic, partition } of partitions) {
      const runtime = this.#routes.get(topic)
      if (!runtime) continue
      let list = this.#states.get(topic)
      if (!list) {
        list = []
        this.#states.set(topic, list)
      }
      const previous = list[partition]
      if (previous) {
        previous.revoke()
        this.#backpressure.forget(previous)
      }
      const state = new PartitionState(topic, partition, runtime.route, generation, runtime.extract, runtime.distributor())
      // A transaction is closing: none of this partition's records may join it.
      if (this.#transactions?.closing) state.seal()
      list[partition] = state
      if (this.#faults.size > 0) this.#faultsCleared([...this.#faults.partitionReassigned(topic, partition), ...this.#faults.topicProgressed(topic)])
    }
    // Joined: credentials, TLS and the group's ACL work.
    if (this.#faults.size > 0) this.#faultsCleared(this.#faults.clientProgressed())
  }

  /**
   * Exactly-once, after an abort: each partition's state is fenced and replaced, and the
   * consumer fetches it again from `offset`. Polling stops meanwhile, so no message
   * fetched before the seek reaches the new state.
   */
  async #rewind(targets: Array<{ state: PartitionState; offset: number }>, delayMs: number): Promise<void> {
    await this.#poller.stop()
    for (const { state, offset } of targets) {
      const list = this.#states.get(state.topic)
      const runtime = this.#routes.get(state.topic)
      state.revoke()
      this.#backpressure.forget(state)
      if (!list || list[state.partition] !== state || !runtime) continue
      list[state.partition] = new PartitionState(state.topic, state.partition, runtime.route, state.generation, runtime.extract, runtime.distributor())
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

  async #revoking(partitions: Kafka.Assignment[]): Promise<void> {
    const states: PartitionState[] = []
    for (const { topic, partition } of partitions) {
      const state = this.#state(topic, partition)
      if (state) {
        // Exactly-once: the closing transaction runs these partitions' sealed messages to the end.
        if (!this.#transactions) state.startDraining()
        states.push(state)
      }
    }
    if (states.length === 0) return
    if (this.#transactions) {
      // The open transaction closes (committing these partitions' watermarks) before they go.
      if (!this.#stopping) await this.#transactions.close('revoke', { leaving: states })
      for (const state of states) {
        state.revoke()
        this.#backpressure.forget(state)
        const list = this.#states.get(state.topic)
        if (list && list[state.partition] === state) list[state.partition] = undefined
      }
      return
    }
    const deadline = Date.now() + this.#options.revokeTimeoutMs
    // Let in-flight slices finish so their work can be committed by this member.
    if (!this.#stopping) await this.#dispatcher.drain(this.#options.revokeTimeoutMs, states)
    // Fence first: from here on, an ack for these partitions is stale and dropped.
    for (const state of states) state.revoke()
    try {
      await this.#committer.commitSync(states, 'revoke', Math.max(deadline, Date.now() + 1000), { generationDeadline: Date.now() + REVOKE_GENERATION_RETRY_MS })
    } catch (error) {
      this.#kafkaError(error)
    }
    for (const state of states) {
      this.#backpressure.forget(state)
      const list = this.#states.get(state.topic)
      if (list && list[state.partition] === state) list[state.partition] = undefined
    }
  }

  /**
   * Payload bytes fetched and not yet done, over the partitions this member owns. Derived
   * from the partitions each time (a handful of them), so what a revoked partition still
   * held leaves the total with it.
   */
  #inFlightBytes(): number {
    let bytes = 0
    for (const list of this.#states.values()) for (const state of list) if (state) bytes += state.bytes
    return bytes
  }

  /** The next poll's size: smaller while messages wait in lanes for a worker and the main thread has room (src/kafka/poll-size.ts). */
  #pollSize = (): number => {
    if (this.#options.backedUpBatchSize === this.#options.batchSize) return this.#options.batchSize
    let fetched = 0
    for (const list of this.#states.values()) for (const state of list) if (state) fetched += state.inFlight
    return this.#pollSizing.next(fetched - this.#pool.messagesInFlight)
  }

  #kafkaError(error: unknown): void {
    if (channels.kafkaError.hasSubscribers) channels.kafkaError.publish({ error })
  }

  stats(): EngineStats {
    if (this.#finalStats) return this.#finalStats
    const partitions: PartitionStats[] = []
    const totals = {
      fetched: 0,
      handled: 0,
      inFlight: 0,
      inFlightBytes: this.#inFlightBytes(),
      slicesInFlight: this.#dispatcher.slicesInFlight,
      failures: 0,
      deadLettered: 0,
      commits: this.#committer.commits + (this.#transactions?.commits ?? 0),
      lag: 0,
    }
    const now = Date.now()
    const connected = this.#consumer.isConnected()
    for (const state of this.#allStates()) {
      const highWatermark = connected ? this.#highWatermarks.read(state.topic, state.partition, !state.paused) : undefined
      const line = partitionStats(state, highWatermark, now)
      partitions.push(line)
      totals.fetched += line.fetched
      totals.handled += line.handled
      totals.inFlight += line.inFlight
      totals.failures += line.failures
      totals.deadLettered += line.deadLettered
      totals.lag += line.lag ?? 0
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    return { partitions, totals, generation: this.#rebalance.generation }
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
    for (const state of this.#allStates()) for (const lane of state.lanes) lane?.cancelTimer()
    const states = this.#allStates()
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
    await disconnect(this.#consumer)
    await this.#pool.close()
    await this.#deadLetters.close()
    await this.#producer.close()
    await this.#mock?.stop()
    if (channels.lifecycle.hasSubscribers) channels.lifecycle.publish({ state: 'stopped', drained })
    this.#resolveStopped()
  }
}

function routeRuntime(route: ResolvedRoute): RouteRuntime {
  const field = `topics[${route.index}].virtualPartitions`
  let context = {}
  const payload = route.payload
  if (typeof payload === 'object') {
    const type = loadProtobufType(payload.protobuf, payload.type, `topics[${route.index}].payload`)
    context = { decodeProtobuf: (value: Buffer) => protobufToObject(type, value) }
  }
  const extract = createKeyExtractor(route.partitioner, `${field}.partitioner`, context)
  // A fresh distributor per partition: balanced keeps per-batch scratch state.
  const distributor = (): Distributor => createDistributor(route.split ? route.distribution : 'consistent', route.lanes, `${field}.distribution`)
  distributor()
  return { route, extract, distributor }
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
  const routes = new Map<string, RouteRuntime>()
  for (const route of options.routes) routes.set(route.topic, routeRuntime(route))

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
