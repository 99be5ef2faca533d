/** Shared value types: what flows between the client core, backends and the server. */

export const INSTANCE_STATUSES = ['STARTING', 'UP', 'DOWN', 'OUT_OF_SERVICE'] as const
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number]

/** One registered instance of a service, as discovery returns it. */
export interface Instance {
  readonly id: string
  readonly service: string
  readonly address: string
  readonly port: number
  readonly status: InstanceStatus
  readonly metadata: Readonly<Record<string, string>>
  readonly tags: readonly string[]
  readonly zone?: string
  /** Relative weight for the weighted balancer; default 1. */
  readonly weight: number
}

/** What a client registers: the instance plus how long the server should keep it unrenewed. */
export interface InstanceSpec extends Instance {
  readonly ttlMs: number
}

/**
 * A registration held at a server. `id` is the backend's own handle (the instance id for
 * protocol v1, the lease id for etcd, kept as a decimal string because it exceeds 2^53).
 */
export interface Lease {
  readonly id: string
  readonly service: string
  readonly instanceId: string
  readonly ttlMs: number
}

/** What `Backend.update()` changes on a registered instance; absent fields stay as they are. */
export interface InstanceChange {
  readonly status?: InstanceStatus
  readonly weight?: number
}

export interface RenewResult {
  /** The TTL the server applied, which may differ from the one asked for. */
  readonly ttlMs: number
  /** An operator's override of this instance, when the server reports one (reference server). */
  readonly override?: InstanceOverride
}

/** What an operator forced on an instance: it wins over the instance's own status and weight. */
export interface InstanceOverride {
  readonly status?: InstanceStatus
  readonly weight?: number
}

/**
 * The full instance set of one service at one point in the server's history.
 * `revision` is a decimal string (protocol v1 index, etcd revision): compare with
 * `compareRevisions`, never as numbers, since etcd's can exceed 2^53.
 */
export interface ServiceSnapshot {
  readonly service: string
  readonly instances: readonly Instance[]
  readonly revision: string
}

/**
 * How one routed request to an instance ended, as routing reports it to the balancers'
 * stats and to the upstream metrics: a status when response headers came, `error` otherwise.
 */
export interface UpstreamOutcome {
  /** HTTP status of the answer, when one came. */
  readonly status?: number
  /** The call failed without an answer (connect, timeout, abort) or was otherwise an error. */
  readonly error?: boolean
}

/** A config value and the version that compare-and-set matches against. */
export interface ConfigEntry {
  readonly key: string
  readonly value: unknown
  /** Decimal string, increasing with every change of the key. */
  readonly version: string
}

export type MetricKind = 'counter' | 'gauge' | 'histogram'

/** One aggregated series in a batch. Counters carry the delta since the previous batch. */
export type MetricPoint =
  | {
      readonly name: string
      readonly kind: 'counter' | 'gauge'
      readonly labels: Readonly<Record<string, string>>
      readonly value: number
      readonly help?: string
    }
  | {
      readonly name: string
      readonly kind: 'histogram'
      readonly labels: Readonly<Record<string, string>>
      /** Upper bounds, ascending; the implicit last bucket is +Inf. */
      readonly buckets: readonly number[]
      /** Per-bucket counts (not cumulative), length buckets.length + 1. */
      readonly counts: readonly number[]
      readonly sum: number
      readonly count: number
      readonly help?: string
    }

export interface MetricBatch {
  /** Unique per batch, so a server can drop a retried duplicate. */
  readonly batchId: string
  readonly service: string
  readonly instance: string
  /** Milliseconds since the epoch at the end of the aggregation window. */
  readonly timestamp: number
  readonly points: readonly MetricPoint[]
}

/** Compares two decimal revision strings: negative, zero or positive like a sort comparator. */
export function compareRevisions(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** True for a canonical non-negative decimal integer string ("0", "42", not "042" or "4.2"). */
export function isRevision(value: unknown): value is string {
  return typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value)
}
