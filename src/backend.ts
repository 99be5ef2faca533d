/**
 * The Backend seam: the one interface every server plugs into. Contracts only.
 *
 * A backend translates single operations into one server's protocol and turns that
 * server's change feed into full snapshots. It owns no heartbeat, retry-until-success,
 * cache or export loop: the client core does. The only long-lived thing a backend runs
 * is the connection behind a watch, which it re-opens until unsubscribed.
 */
import type { GovernanceError } from './errors.js'
import type { Logger } from './internal/logger.js'
import type {
  ConfigEntry,
  InstanceChange,
  InstanceSpec,
  Lease,
  MetricBatch,
  RenewResult,
  ServiceSnapshot,
} from './types.js'

/** Per-call context: every network operation honours both. */
export interface CallContext {
  readonly signal?: AbortSignal
  /** Deadline for this call; the backend's default applies when absent. */
  readonly timeoutMs?: number
}

/**
 * What a backend's server can do, where the core adapts to it. What a method's presence
 * already says is not repeated here: without `watchService` / `watchConfig` the core polls,
 * without `deleteConfig` a delete is NotSupportedError. Extra keys are ignored.
 */
export interface BackendCapabilities {
  /** Explicit deregistration; without it an instance lingers until it expires (or forever). */
  readonly deregister: boolean
  /** Registrations expire when not renewed. */
  readonly ttl: boolean
  /** putConfig honours `ifVersion`. */
  readonly compareAndSet: boolean
}

export interface WatchMeta {
  /** The server's revision this state is at (decimal string). */
  readonly revision: string
  /**
   * True when the feed was re-listed from scratch (server restart, reset index, etcd
   * compaction): the revision may be lower than the previous one and the value is a full
   * replacement, not a continuation.
   */
  readonly reset: boolean
}

/**
 * Receives a watch's states. `next` always gets the full current state, never a delta.
 * `error` reports that the feed is broken for now; the backend keeps re-opening it with
 * backoff until the watch is unsubscribed. Neither callback may throw into the backend.
 */
export interface Watcher<T> {
  next(value: T, meta: WatchMeta): void
  error(error: GovernanceError): void
  /**
   * The server confirmed, without a change, that the last state passed to `next` is still
   * current at `revision` (an unchanged answer, an etcd progress notification, a keep-alive
   * frame). Freshness (`ageMs`, `source`, `maxStalenessMs`) counts from the latest `next` or
   * `confirmed`, so a backend calls it every time it hears from the server. Optional for
   * backends that cannot tell; the core's watchers always implement it.
   */
  confirmed?(meta: { readonly revision: string }): void
}

export interface WatchOptions {
  /** Resume after this revision instead of starting with the current state. */
  readonly afterRevision?: string
}

export type Unsubscribe = () => void

export interface PutConfigOptions {
  /** Compare-and-set: write only if the stored version is this; "0" means "must not exist". */
  readonly ifVersion?: string
}

/** What a metric sink's export receives: the call's deadline, and where to report a partial drop. */
export interface MetricExportContext extends CallContext {
  /**
   * For a sink that delivered the batch but had to leave some metrics out (the Pushgateway
   * refusing one metric): emits `metrics:dropped` with this reason, logs, and counts the points.
   */
  readonly reportDropped?: (drop: { readonly points: number; readonly reason: string; readonly metrics: readonly string[] }) => void
}

/** Where metric batches go. A backend offers one when its server stores metrics. */
export interface MetricSink {
  readonly name: string
  export(batch: MetricBatch, ctx: MetricExportContext): Promise<void>
  close?(): Promise<void>
}

export interface Backend {
  /** 'http' | 'etcd' | 'seed' | … */
  readonly name: string
  readonly capabilities: BackendCapabilities

  /** Creates or replaces the instance (idempotent per instance id); resolves once stored. */
  register(spec: InstanceSpec, ctx: CallContext): Promise<Lease>
  /** Renews the lease; rejects with LeaseLostError when the server no longer holds it. */
  renew(lease: Lease, ctx: CallContext): Promise<RenewResult>
  /** Removes the instance; resolves also when it was already gone. */
  deregister(lease: Lease, ctx: CallContext): Promise<void>
  /**
   * Changes the status or weight of a registered instance in place, keeping its lease:
   * resolves with the lease (the same id), rejects with LeaseLostError when the server no
   * longer holds that lease, and never recreates a lost instance. Optional: without it a
   * change is a `register()` of the whole spec, which is right for servers whose upsert
   * keeps the lease (protocol v1: the lease is the instance id) and grants a new lease on
   * etcd, hence etcd implements it.
   */
  update?(lease: Lease, change: InstanceChange, ctx: CallContext): Promise<Lease>

  /** The full instance set of a service (empty when unknown) and its revision. */
  resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot>
  /**
   * The names of the services that have instances now, sorted. Optional: without it
   * `gov.services()` rejects with NotSupportedError naming the backend.
   */
  listServices?(ctx: CallContext): Promise<readonly string[]>
  /** Pushes every new state of the service; absent when the server cannot push (core polls). */
  watchService?(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe

  getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined>
  watchConfig?(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe
  /** Rejects with ConflictError when `ifVersion` does not match. */
  putConfig?(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry>
  /** Resolves true when a value was removed; ConflictError when `ifVersion` does not match. */
  deleteConfig?(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean>

  /** The server's own metrics endpoint, if it has one. */
  createMetricSink?(): MetricSink

  /**
   * Hands the backend the client's logger. GovernanceClient calls it once, before any other
   * call, for a backend built outside it (`etcdBackend()`, `seedBackend()`, …) whose own
   * options named no logger, so `logger: false` on the client silences the backend too.
   */
  useLogger?(logger: Logger): void

  /** Ends every watch and releases connections. Idempotent. */
  close(): Promise<void>
}
