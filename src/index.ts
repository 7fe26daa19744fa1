/** kvp's public API. Nothing private is exported from here. */
export { startEngine } from './engine.js'
export type { Engine } from './engine.js'
export type {
  BackpressureOptions,
  DeadLetterOptions,
  Distribution,
  EngineOptions,
  PartitionerFn,
  PartitionerOption,
  PayloadOption,
  RawMessage,
  RetryOptions,
  TopicRoute,
  VirtualKey,
  VirtualPartitionsOptions,
} from './config/options.js'
export type { EngineStats, PartitionStats } from './stats.js'
export type { HandlerMessage } from './worker/slice-runner.js'
export type { HandlerContext } from './worker/handler-loader.js'
export {
  AuthenticationError,
  AuthorizationError,
  CodecError,
  CommitError,
  ConfigError,
  CorruptBatchError,
  DeadLetterError,
  DecodeError,
  ErrorClasses,
  ErrorCodes,
  HandlerError,
  HandlerLoadError,
  InternalError,
  isErrorCode,
  isKvpError,
  KafkaError,
  KvpError,
  PartitionerError,
  ProduceError,
  StoppedError,
  TimeoutError,
  TlsError,
  TransactionError,
  UnknownTopicError,
  UsageError,
  WorkerCrashError,
} from './errors.js'
export type { ErrorCode, KvpErrorClass, KvpErrorOptions } from './errors.js'
export { channels, EventChannel } from './diagnostics.js'
export type {
  AckEvent,
  BackpressureEvent,
  ChannelName,
  CommitErrorEvent,
  CommitEvent,
  DeadLetterEvent,
  EventOf,
  FaultClearedEvent,
  FaultEvent,
  HandlerErrorEvent,
  KafkaErrorEvent,
  LifecycleEvent,
  PartitionerErrorEvent,
  RebalanceEvent,
  SliceEvent,
  StaleAckEvent,
  TopicPartitionRef,
  TransactionEvent,
} from './diagnostics.js'
export { DeadLetterHeaders } from './kafka/dead-letter.js'
export { producerKeepsBinaryHeaders } from './kafka/producer-client.js'
export { startMockCluster } from './kafka/mock-cluster.js'
export type { MockCluster } from './kafka/mock-cluster.js'
export { serveOperations } from './ops/http-server.js'
export type { OperationsOptions, OperationsServer } from './ops/http-server.js'
export { HealthMonitor, Phases } from './ops/health.js'
export type { HealthOptions, HealthSources, Phase, ProbeResult } from './ops/health.js'
export { StatusSampler } from './ops/status-sampler.js'
export type { DeadLetterEntry, ErrorEntry, History, RebalanceEntry, SamplerOptions } from './ops/status-sampler.js'
export type { StatusReport } from './ops/status-report.js'
export type { WorkerStats } from './dispatch/pool.js'
export { buildInfo, REQUIRED_CODECS } from './build-info.js'
export type { BuildInfo } from './build-info.js'
export { FaultKinds } from './kafka/client-fault.js'
export type { ClientFault, FaultKind } from './kafka/client-fault.js'
export type { ActiveFault } from './kafka/fault-watch.js'
export { readGroupLag } from './kafka/group-lag.js'
export type { GroupLagOptions, PartitionLag } from './kafka/group-lag.js'
