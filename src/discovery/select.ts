/**
 * Turning a call's options into a selection (which instances, which zone, which balancer)
 * and a cache key, so that each distinct selection is computed once per snapshot, not per call.
 */
import { balancerFor } from '../balancer/strategy.js'
import type { Balancer } from '../balancer/types.js'
import { InvalidArgumentError } from '../errors.js'
import { checkCallOptions } from '../internal/call-options.js'
import { describeValue } from '../internal/describe.js'
import type { Logger } from '../internal/logger.js'
import type { Instance } from '../types.js'
import { resolveFilter, type ResolvedFilter } from './options.js'
import type { DiscoverOptions, PickOptions } from './types.js'

export interface Selection {
  readonly key: string
  readonly filter: ResolvedFilter
  /** Preferred zone (spill-over to all when it has none), or undefined. */
  readonly zone: string | undefined
  readonly balancer: Balancer
}

/** True when the options change which instances are answered (not only staleness or signal). */
export function hasSelection(options: DiscoverOptions | PickOptions): boolean {
  return (
    options.status !== undefined ||
    options.tags !== undefined ||
    options.metadata !== undefined ||
    options.filter !== undefined ||
    options.zone !== undefined ||
    (options as PickOptions).strategy !== undefined
  )
}

/** Identity numbers for functions and balancer objects, which have no string form. */
const ids = new WeakMap<object, number>()
let nextId = 1
function idOf(value: object): number {
  let id = ids.get(value)
  if (id === undefined) ids.set(value, (id = nextId++))
  return id
}

const DISCOVER_KEYS: readonly string[] = ['status', 'tags', 'metadata', 'filter', 'zone', 'maxStalenessMs', 'staleIfErrorMs', 'signal']
const PICK_KEYS: readonly string[] = [...DISCOVER_KEYS, 'strategy', 'hashKey']

/**
 * The parts of a call's options that are not a selection: the bag itself, option names,
 * the staleness numbers and the signal. Throws InvalidArgumentError naming the option.
 */
export function checkCallShape(what: string, options: DiscoverOptions | PickOptions | undefined, forPick: boolean): void {
  if (options === undefined || onlySelectionKeys(options, forPick)) return
  checkCallOptions(what, options, forPick ? PICK_KEYS : DISCOVER_KEYS)
  checkMs(what, 'maxStalenessMs', options.maxStalenessMs)
  checkMs(what, 'staleIfErrorMs', options.staleIfErrorMs)
  const hashKey = (options as PickOptions).hashKey
  if (hashKey !== undefined && typeof hashKey !== 'string') throw new InvalidArgumentError(`${what}: options.hashKey must be a string, got ${describeValue(hashKey)}`)
}

/**
 * The common literal (`{ strategy: 'weighted' }`): an object of selection keys only (and a string hashKey), which
 * buildSelection checks. A switch over its keys costs a few ns where the generic walk costs
 * twenty; anything else (staleness numbers, a signal, a stranger) takes the full check.
 */
function onlySelectionKeys(options: object, forPick: boolean): boolean {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return false
  for (const key in options) {
    switch (key) {
      case 'status':
      case 'tags':
      case 'metadata':
      case 'filter':
      case 'zone':
        continue
      case 'strategy':
        if (forPick) continue
        return false
      case 'hashKey':
        if (forPick && typeof (options as PickOptions).hashKey === 'string') continue
        return false
      default:
        return false
    }
  }
  return true
}

function checkMs(what: string, name: string, value: unknown): void {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${what}: options.${name} must be a number of ms >= 0 (or Infinity), got ${describeValue(value)}`)
  }
}

/**
 * The selection for one call's options; throws InvalidArgumentError on a bad option. Memoised
 * per options object, so the whole bag is checked here too: pickSync() never reaches #prepare.
 */
export function buildSelection(
  options: PickOptions | DiscoverOptions,
  base: ResolvedFilter,
  defaultZone: string | undefined,
  defaultBalancer: Balancer,
  forPick = true,
): Selection {
  checkCallShape(forPick ? 'pick()' : 'discover()', options, forPick)
  const filter = resolveFilter('options', options, base)
  const rawZone = options.zone
  if (rawZone !== undefined && rawZone !== false && (typeof rawZone !== 'string' || rawZone === '')) {
    throw new InvalidArgumentError(`options.zone must be a non-empty string or false, got ${describeValue(rawZone)}`)
  }
  const zone = rawZone === false ? undefined : (rawZone ?? defaultZone)
  const strategy = (options as PickOptions).strategy
  const balancer = strategy === undefined ? defaultBalancer : balancerFor(strategy)
  if (balancer === undefined) {
    throw new InvalidArgumentError(`options.strategy must be a strategy name or a Balancer, got ${typeof strategy === 'string' ? JSON.stringify(strategy) : typeof strategy}`)
  }
  return { key: keyOf(filter, zone, balancer), filter, zone, balancer }
}

function keyOf(f: ResolvedFilter, zone: string | undefined, balancer: Balancer): string {
  const metadata = f.metadata === undefined ? '' : Object.keys(f.metadata).sort().map((k) => `${k}=${f.metadata![k]}`).join('\u0001')
  return [
    f.status?.join(',') ?? '*',
    f.tags?.join('\u0001') ?? '',
    metadata,
    f.filter === undefined ? '' : idOf(f.filter),
    zone ?? '',
    idOf(balancer),
  ].join('\u0000')
}

/** Instances passing a filter; a throwing user filter excludes the instance. */
export function applyFilter(instances: readonly Instance[], f: ResolvedFilter, logger: Logger): Instance[] {
  const out: Instance[] = []
  for (const instance of instances) if (matches(instance, f, logger)) out.push(instance)
  return out
}

export function matches(instance: Instance, f: ResolvedFilter, logger: Logger): boolean {
  if (f.status !== undefined && !f.status.includes(instance.status)) return false
  if (f.tags !== undefined && !f.tags.every((t) => instance.tags.includes(t))) return false
  if (f.metadata !== undefined) {
    for (const k in f.metadata) if (instance.metadata[k] !== f.metadata[k]) return false
  }
  if (f.filter === undefined) return true
  try {
    return f.filter(instance) === true
  } catch (error) {
    logger.warn('discovery filter threw; instance excluded', { service: instance.service, instance: instance.id, error })
    return false
  }
}

/** The instances of the preferred zone, or all of them when the zone has none (spill-over). */
export function preferZone(instances: Instance[], zone: string | undefined): Instance[] {
  if (zone === undefined) return instances
  const local = instances.filter((i) => i.zone === zone)
  return local.length > 0 ? local : instances
}
