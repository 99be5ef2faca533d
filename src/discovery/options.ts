/**
 * Discovery options: defaults and eager validation. A wrong option fails at construction
 * with InvalidArgumentError naming `discovery.<option>` and the value, not later in a loop.
 */
import { OUTLIER_DEFAULTS, resolveOutlierOptions, type OutlierOptions, type ResolvedOutlierOptions } from '../balancer/outlier-options.js'
import { requireBalancer } from '../balancer/strategy.js'
import type { Balancer, Strategy } from '../balancer/types.js'
import { InvalidArgumentError } from '../errors.js'
import type { BackoffOptions } from '../internal/backoff.js'
import { INSTANCE_STATUSES, type Instance, type InstanceStatus } from '../types.js'
import { ROUTING_DEFAULTS, type RoutingOptions } from '../routing/options.js'
import type { InstanceFilter } from './types.js'
import { describeValue } from '../internal/describe.js'

export interface DiscoveryOptions {
  /** Services kept in the cache, each with its watch; the least recently used beyond it are dropped. Default 1,000. */
  cacheSize?: number
  /** Oldest answer discover() serves without refreshing first (per call: `maxStalenessMs`). Default 30,000 ms. */
  maxStalenessMs?: number
  /** A refresh starts in the background this long before an answer reaches maxStalenessMs. Default 1,000 ms. */
  refreshAheadMs?: number
  /** During an outage the last snapshot is served until it is this old, then discover() fails. Default 300,000 ms. */
  staleIfErrorMs?: number
  /** At most one `discovery:changed` per service per this interval, with the latest state. Default 250 ms. */
  minNotifyIntervalMs?: number
  /** A service not asked for this long loses its watch and cache entry; 0 keeps them. Default 600,000 ms. */
  idleWatchMs?: number
  /** Poll interval for backends without watchService. Default 5,000 ms. */
  pollIntervalMs?: number
  /** Retry pause after a failed refresh or a broken watch (full jitter). Default 200 ms up to 5,000 ms. */
  recoveryBackoff?: { minDelayMs?: number; maxDelayMs?: number }
  /**
   * An update that leaves no instance passing the default filter after signs that the
   * registry lost data (its index went back: a restart; several instances vanished at once)
   * keeps the served set for at most `holdMs` (default 15,000 ms, about one TTL), answered
   * with source 'protected'. Explicit leaves (an instance marked DOWN or OUT_OF_SERVICE, a
   * lone instance deregistered) are always taken at once. `false` turns it off. Default true.
   */
  emptyProtection?: boolean | { holdMs?: number }
  /** Applied to every answer and pick unless a call overrides a field. Default `{ status: ['UP'] }`. */
  defaultFilter?: InstanceFilter
  /** Strategy of pick() and routing when a call names none. Default 'round-robin'. */
  defaultBalancer?: Strategy
  /**
   * Outlier ejection for routed requests: every pick's balancer is wrapped in
   * `outlierEjection(balancer, outlier)` (one already wrapped is kept); `false` turns it off.
   */
  outlier?: OutlierOptions | false
  /** gov.fetch / gov.dispatcher; resolved by routing (src/routing/options.ts). */
  routing?: RoutingOptions
}

export interface ResolvedFilter {
  /** undefined: every status. */
  readonly status: readonly InstanceStatus[] | undefined
  readonly tags: readonly string[] | undefined
  readonly metadata: Readonly<Record<string, string>> | undefined
  readonly filter: ((instance: Instance) => boolean) | undefined
}

export interface ResolvedDiscoveryOptions {
  readonly cacheSize: number
  readonly maxStalenessMs: number
  readonly refreshAheadMs: number
  readonly staleIfErrorMs: number
  readonly minNotifyIntervalMs: number
  readonly idleWatchMs: number
  readonly pollIntervalMs: number
  readonly recoveryBackoff: BackoffOptions
  /** 0: empty protection off. */
  readonly emptyProtectionMs: number
  readonly defaultFilter: ResolvedFilter
  readonly defaultBalancer: Balancer
  readonly outlier: ResolvedOutlierOptions | undefined
}

export const DISCOVERY_DEFAULTS = Object.freeze({
  cacheSize: 1_000,
  maxStalenessMs: 30_000,
  refreshAheadMs: 1_000,
  staleIfErrorMs: 300_000,
  minNotifyIntervalMs: 250,
  idleWatchMs: 600_000,
  pollIntervalMs: 5_000,
  recoveryBackoff: Object.freeze({ minDelayMs: 200, maxDelayMs: 5_000 }),
  /** About one registration TTL (the registry's default, DEFAULT_TTL_MS). */
  emptyProtectionMs: 15_000,
  ...OUTLIER_DEFAULTS,
  ...ROUTING_DEFAULTS,
})

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

const show = describeValue

/** An integer number of ms (or a count) within [min, max]; `infinite` also allows Infinity. */
function integer(name: string, value: unknown, fallback: number, min: number, infinite = false, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (infinite && value === Number.POSITIVE_INFINITY) return value
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`
    fail(`discovery.${name} must be an integer ${range}${infinite ? ' or Infinity' : ''}, got ${show(value)}`)
  }
  return value
}

function object<T>(name: string, value: T | undefined, known?: readonly string[]): T | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    fail(`discovery.${name} must be an object, got ${show(value)}`)
  }
  if (value !== undefined && known !== undefined) checkKnown(`discovery.${name}`, value as object, known)
  return value
}

/** A misspelt option would otherwise be ignored in silence, and its default used instead. */
function checkKnown(path: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`${path}.${key} is not an option (known: ${known.join(', ')})`)
  }
}

const FILTER_KEYS = ['status', 'tags', 'metadata', 'filter'] as const
const DISCOVERY_KEYS = [
  'cacheSize',
  'maxStalenessMs',
  'refreshAheadMs',
  'staleIfErrorMs',
  'minNotifyIntervalMs',
  'idleWatchMs',
  'pollIntervalMs',
  'recoveryBackoff',
  'emptyProtection',
  'defaultFilter',
  'defaultBalancer',
  'outlier',
  'routing',
] as const

/** Validates a filter (used for defaultFilter and, cheaply, by calls); `name` prefixes messages. */
export function resolveFilter(name: string, raw: InstanceFilter | undefined, base?: ResolvedFilter, strictKeys = false): ResolvedFilter {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(`${name} must be an object, got ${show(raw)}`)
  if (raw !== undefined && strictKeys) checkKnown(name, raw, FILTER_KEYS)
  const f: InstanceFilter = raw ?? {}
  let status = base?.status
  if (f.status === 'any') status = undefined
  else if (f.status !== undefined) {
    if (!Array.isArray(f.status) || f.status.some((s) => !(INSTANCE_STATUSES as readonly string[]).includes(s))) {
      fail(`${name}.status must be 'any' or an array of ${INSTANCE_STATUSES.join(', ')}, got ${show(f.status)}`)
    }
    status = Object.freeze([...f.status])
  }
  if (f.tags !== undefined && (!Array.isArray(f.tags) || f.tags.some((t) => typeof t !== 'string'))) {
    fail(`${name}.tags must be an array of strings, got ${show(f.tags)}`)
  }
  if (f.metadata !== undefined) {
    if (typeof f.metadata !== 'object' || f.metadata === null || Array.isArray(f.metadata) || Object.values(f.metadata).some((v) => typeof v !== 'string')) {
      fail(`${name}.metadata must be an object of strings, got ${show(f.metadata)}`)
    }
  }
  if (f.filter !== undefined && typeof f.filter !== 'function') fail(`${name}.filter must be a function, got ${show(f.filter)}`)
  return {
    status,
    tags: f.tags !== undefined ? Object.freeze([...f.tags]) : base?.tags,
    metadata: f.metadata !== undefined ? Object.freeze({ ...f.metadata }) : base?.metadata,
    filter: f.filter ?? base?.filter,
  }
}

function resolveEmptyProtection(raw: DiscoveryOptions['emptyProtection']): number {
  if (raw === undefined || raw === true) return DISCOVERY_DEFAULTS.emptyProtectionMs
  if (raw === false) return 0
  const o = object('emptyProtection', raw, ['holdMs']) ?? {}
  return integer('emptyProtection.holdMs', o.holdMs, DISCOVERY_DEFAULTS.emptyProtectionMs, 0, true)
}

function resolveBackoff(raw: DiscoveryOptions['recoveryBackoff']): BackoffOptions {
  const o = object('recoveryBackoff', raw, ['minDelayMs', 'maxDelayMs']) ?? {}
  const d = DISCOVERY_DEFAULTS.recoveryBackoff
  const minDelayMs = integer('recoveryBackoff.minDelayMs', o.minDelayMs, d.minDelayMs, 1)
  const maxDelayMs = integer('recoveryBackoff.maxDelayMs', o.maxDelayMs, Math.max(d.maxDelayMs, minDelayMs), 1)
  if (maxDelayMs < minDelayMs) fail(`discovery.recoveryBackoff.maxDelayMs (${maxDelayMs}) must not be below minDelayMs (${minDelayMs})`)
  return { minDelayMs, maxDelayMs }
}

export function resolveDiscoveryOptions(raw: DiscoveryOptions | undefined): ResolvedDiscoveryOptions {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(`discovery must be an object, got ${show(raw)}`)
  if (raw !== undefined) checkKnown('discovery', raw, DISCOVERY_KEYS)
  const o: DiscoveryOptions = raw ?? {}
  const d = DISCOVERY_DEFAULTS
  return Object.freeze({
    cacheSize: integer('cacheSize', o.cacheSize, d.cacheSize, 1),
    maxStalenessMs: integer('maxStalenessMs', o.maxStalenessMs, d.maxStalenessMs, 0, true),
    refreshAheadMs: integer('refreshAheadMs', o.refreshAheadMs, d.refreshAheadMs, 0),
    staleIfErrorMs: integer('staleIfErrorMs', o.staleIfErrorMs, d.staleIfErrorMs, 0, true),
    minNotifyIntervalMs: integer('minNotifyIntervalMs', o.minNotifyIntervalMs, d.minNotifyIntervalMs, 0),
    idleWatchMs: integer('idleWatchMs', o.idleWatchMs, d.idleWatchMs, 0),
    pollIntervalMs: integer('pollIntervalMs', o.pollIntervalMs, d.pollIntervalMs, 1),
    recoveryBackoff: resolveBackoff(o.recoveryBackoff),
    emptyProtectionMs: resolveEmptyProtection(o.emptyProtection),
    defaultFilter: resolveFilter(
      'discovery.defaultFilter',
      o.defaultFilter,
      { status: Object.freeze(['UP'] as const), tags: undefined, metadata: undefined, filter: undefined },
      true,
    ),
    defaultBalancer: o.defaultBalancer === undefined ? requireBalancer('discovery.defaultBalancer', 'round-robin') : requireBalancer('discovery.defaultBalancer', o.defaultBalancer),
    outlier: o.outlier === false ? undefined : resolveOutlierOptions('discovery.outlier', o.outlier),
  })
}
