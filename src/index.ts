/**
 * governance-client: the public surface. No side effects on import.
 *
 * Every name is listed on purpose (no star re-exports): what is not here is wiring, free to change.
 * Rule for adding one: src/internal/README.md; the list users read: docs/api.md.
 */
import './node-guard.js'

// The client and its options.
export { GovernanceClient } from './client.js'
export type { GovernanceClientOptions } from './options.js'
export type { RegistrationState, RegistryOptionsInput, ReadinessHandler } from './registry/index.js'
export type { Logger } from './internal/logger.js'
export type { TlsOptions } from './transport/types.js'

// Errors.
export {
  AuthError,
  ClientClosedError,
  ConflictError,
  GovernanceError,
  InvalidArgumentError,
  LeaseLostError,
  NoAvailableInstanceError,
  NotFoundError,
  NotSupportedError,
  ProtocolError,
  RequestRejectedError,
  ResponseTooLargeError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
  UpstreamError,
  ValidationError,
  isGovernanceError,
  isRetryableError,
  toGovernanceError,
} from './errors.js'
export type { GovernanceErrorCode, GovernanceErrorOptions } from './errors.js'

// Events.
export type { GovernanceEvents, GovernanceEventName, InstanceDiff, SnapshotSource } from './events.js'

// The data model users read and write. The Backend seam (its contracts, leases, snapshots,
// metric batches, revision helpers) has its own entry, `governance-client/backend`, and the
// protocol v1 backend its own, `governance-client/http`: a service that only uses the client
// never names them.
export { INSTANCE_STATUSES } from './types.js'
export type { Instance, InstanceChange, InstanceOverride, InstanceSpec, InstanceStatus } from './types.js'
/** What `gov.subscribe()` and a watch return. */
export type { Unsubscribe } from './backend.js'

// Discovery, balancing and routing.
export { diffInstances } from './discovery/index.js'
export type {
  DiscoverOptions,
  DiscoveryMeta,
  DiscoveryOptions,
  DiscoveryResult,
  InstanceFilter,
  PickOptions,
  ServiceChange,
  ServiceListener,
  ServicesOptions,
} from './discovery/index.js'
export type { RoutedRequestInit, RoutingOptions } from './routing/index.js'
export { consistentHash, leastRequest, outlierEjection, random, roundRobin, weighted } from './balancer/index.js'
export type { Balancer, InstanceLoad, OutlierOptions, PickContext, Picker, PickerContext, Strategy } from './balancer/index.js'

// Config.
export type {
  ConfigCallback,
  ConfigChange,
  ConfigChangesOptions,
  ConfigClient,
  ConfigGetOptions,
  ConfigIssue,
  ConfigOptions,
  ConfigSource,
  ConfigValue,
  ConfigWatchOptions,
  ConfigWriteOptions,
  ParseFn,
  Schema,
  StandardSchemaV1,
} from './config/index.js'

// Metrics.
export {
  pushgatewaySink,
  DEFAULT_LATENCY_BUCKETS_MS,
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  DROPPED_POINTS_METRIC,
  EXPOSITION_CONTENT_TYPE,
  OVERFLOW_LABEL,
  PROCESS_METRIC_NAMES,
  UPSTREAM_DURATION,
  UPSTREAM_ERRORS,
  UPSTREAM_REQUESTS,
} from './metrics/index.js'
export type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  Counter,
  FlushOptions,
  Gauge,
  Histogram,
  HistogramOptions,
  HistogramSeriesSnapshot,
  InstrumentOptions,
  Labels,
  MetricFamilySnapshot,
  Metrics,
  MetricsOptions,
  MetricsRetryOptions,
  NumberSeriesSnapshot,
  PushgatewaySinkOptions,
} from './metrics/index.js'

// Observability: logging, diagnostics channels, recognising the library's own requests.
export { fieldsFirstLogger, type FieldsFirstLogger } from './internal/logger.js'
export { BACKEND_TRACING_CHANNEL, CHANNEL_PREFIX, type BackendCallContext } from './internal/diagnostics.js'
export { LIBRARY_USER_AGENT, isLibraryRequest } from './internal/library-requests.js'
