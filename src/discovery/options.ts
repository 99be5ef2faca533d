/**
 * Discovery options: defaults and eager validation. A wrong option fails at construction
 * with InvalidArgumentError naming `discovery.<option>` and the value, not later in a loop.
 */
import { DEFAULT_FEED_BACKOFF } from '../feed/feed.js'
import { OUTLIER_DEFAULTS, resolveOutlierOptions, type OutlierOptions, type ResolvedOutlierOptions } from '../balancer/outlier-options.js'
import { requireBalancer } from '../balancer/strategy.js'
import type { Balancer, Strategy } from '../balancer/types.js'
import type { BackoffOptions } from '../internal/backoff.js'
import { INSTANCE_STATUSES, type Instance, type InstanceStatus } from '../types.js'
import { ROUTING_DEFAULTS, type RoutingOptions } from '../routing/options.js'
import type { InstanceFilter } from './types.js'
import { delayRange, durationMs, failOption, objectOption, positiveInt } from '../internal/options-kit.js'

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
  // The feed engine's one backoff, which config's keys use too.
  recoveryBackoff: DEFAULT_FEED_BACKOFF,
  /** About one registration TTL (the registry's default, DEFAULT_TTL_MS). */
  emptyProtectionMs: 15_000,
  ...OUTLIER_DEFAULTS,
  ...ROUTING_DEFAULTS,
})

const FILTER_KEYS: readonly string[] = ['status', 'tags', 'metadata', 'filter']
const DISCOVERY_KEYS: readonly string[] = [
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
]

/** Validates a filter (used for defaultFilter and, cheaply, by calls); `name` prefixes messages. */
export function resolveFilter(name: string, raw: InstanceFilter | undefined, base?: ResolvedFilter, strictKeys = false): ResolvedFilter {
  // Calls pass their options here on every discover(): the key check is for defaultFilter only.
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) failOption(name, 'must be an object', raw)
  if (raw !== undefined && strictKeys) objectOption(name, raw, FILTER_KEYS)
  const f: InstanceFilter = raw ?? {}
  let status = base?.status
  if (f.status === 'any') status = undefined
  else if (f.status !== undefined) {
    if (!Array.isArray(f.status) || f.status.some((s) => !(INSTANCE_STATUSES as readonly string[]).includes(s))) {
      failOption(`${name}.status`, `must be 'any' or an array of ${INSTANCE_STATUSES.join(', ')}`, f.status)
    }
    status = Object.freeze([...f.status])
  }
  if (f.tags !== undefined && (!Array.isArray(f.tags) || f.tags.some((t) => typeof t !== 'string'))) {
    failOption(`${name}.tags`, 'must be an array of strings', f.tags)
  }
  if (f.metadata !== undefined) {
    if (typeof f.metadata !== 'object' || f.metadata === null || Array.isArray(f.metadata) || Object.values(f.metadata).some((v) => typeof v !== 'string')) {
      failOption(`${name}.metadata`, 'must be an object of strings', f.metadata)
    }
  }
  if (f.filter !== undefined && typeof f.filter !== 'function') failOption(`${name}.filter`, 'must be a function', f.filter)
  return {
    status,
    tags: f.tags !== undefined ? Object.freeze([...f.tags]) : base?.tags,
    metadata: f.metadata !== undefined ? Object.freeze({ ...f.metadata }) : base?.metadata,
    filter: f.filter ?? base?.filter,
  }
}

function resolveEmptyProtection(raw: unknown): number {
  if (raw === undefined || raw === true) return DISCOVERY_DEFAULTS.emptyProtectionMs
  if (raw === false) return 0
  const o = objectOption('discovery.emptyProtection', raw, ['holdMs'])
  return durationMs('discovery.emptyProtection.holdMs', o.holdMs, { default: DISCOVERY_DEFAULTS.emptyProtectionMs, min: 0, infinite: true })
}

export function resolveDiscoveryOptions(raw: DiscoveryOptions | undefined): ResolvedDiscoveryOptions {
  const o = objectOption('discovery', raw, DISCOVERY_KEYS)
  const d = DISCOVERY_DEFAULTS
  const ms = (key: keyof typeof d & keyof DiscoveryOptions, spec: { min: number; infinite?: boolean }): number =>
    durationMs(`discovery.${key}`, o[key], { default: d[key] as number, ...spec })
  return Object.freeze({
    cacheSize: positiveInt('discovery.cacheSize', o.cacheSize, { default: d.cacheSize }),
    maxStalenessMs: ms('maxStalenessMs', { min: 0, infinite: true }),
    refreshAheadMs: ms('refreshAheadMs', { min: 0 }),
    staleIfErrorMs: ms('staleIfErrorMs', { min: 0, infinite: true }),
    minNotifyIntervalMs: ms('minNotifyIntervalMs', { min: 0 }),
    idleWatchMs: ms('idleWatchMs', { min: 0 }),
    pollIntervalMs: ms('pollIntervalMs', { min: 1 }),
    recoveryBackoff: delayRange('discovery.recoveryBackoff', o.recoveryBackoff, d.recoveryBackoff),
    emptyProtectionMs: resolveEmptyProtection(o.emptyProtection),
    defaultFilter: resolveFilter(
      'discovery.defaultFilter',
      o.defaultFilter as InstanceFilter | undefined,
      { status: Object.freeze(['UP'] as const), tags: undefined, metadata: undefined, filter: undefined },
      true,
    ),
    defaultBalancer: requireBalancer('discovery.defaultBalancer', (o.defaultBalancer as Strategy | undefined) ?? 'round-robin'),
    outlier: o.outlier === false ? undefined : resolveOutlierOptions('discovery.outlier', o.outlier as OutlierOptions | undefined),
  })
}
