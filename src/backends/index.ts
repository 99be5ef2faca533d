/**
 * `governance-client/backend`: everything for writing a backend (README, "Your own backend"):
 * the Backend seam's contracts, the records a backend passes to the core (leases, snapshots,
 * config entries, metric batches) and the revision helpers. A service that only uses the
 * client imports nothing from here.
 */
import '../node-guard.js'
export type {
  Backend,
  BackendCapabilities,
  CallContext,
  MetricExportContext,
  MetricSink,
  PutConfigOptions,
  Unsubscribe,
  WatchMeta,
  WatchOptions,
  Watcher,
} from '../backend.js'
export { compareRevisions, isRevision } from '../types.js'
export type {
  ConfigEntry,
  Instance,
  InstanceChange,
  InstanceSpec,
  InstanceStatus,
  Lease,
  MetricBatch,
  MetricKind,
  MetricPoint,
  RenewResult,
  ServiceSnapshot,
} from '../types.js'
