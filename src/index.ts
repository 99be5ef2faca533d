/** governance-client: the public surface. No side effects on import. */
import './node-guard.js'
export { GovernanceClient } from './client.js'
export type { GovernanceBackendClientOptions, GovernanceClientCommonOptions, GovernanceClientOptions, GovernanceServerClientOptions } from './options.js'
export * from './errors.js'
export type * from './types.js'
export { compareRevisions, isRevision, INSTANCE_STATUSES } from './types.js'
export type * from './backend.js'
export type { EmitFn, GovernanceEvents, GovernanceEventName, InstanceDiff, SnapshotSource } from './events.js'
export type { Clock } from './internal/timers.js'
export type { Logger } from './internal/logger.js'
export type { TlsOptions, Transport, TransportOptions } from './transport/types.js'
export { httpBackend, type HttpBackendOptions } from './backends/http/index.js'
export * from './balancer/index.js'
export { diffInstances } from './discovery/index.js'
export type {
  DiscoverOptions,
  DiscoveryMeta,
  DiscoveryOptions,
  DiscoveryResult,
  InstanceFilter,
  OutlierOptions,
  PickOptions,
  RoutedRequestInit,
  RoutingOptions,
  ServiceChange,
  ServiceListener,
  ServicesOptions,
} from './discovery/index.js'
export type { RegistrationState, RegistryOptionsInput, ReadinessHandler } from './registry/index.js'
export type * from './config/index.js'
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
export type * from './metrics/index.js'
export { LIBRARY_USER_AGENT, isLibraryRequest } from './internal/library-requests.js'
export { fieldsFirstLogger } from './internal/logger.js'
export type { FieldsFirstLogger } from './internal/logger.js'
export { BACKEND_TRACING_CHANNEL, CHANNEL_PREFIX } from './internal/diagnostics.js'
export type { BackendCallContext } from './internal/diagnostics.js'
