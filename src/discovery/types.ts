/** Discovery's public types: call options, the result shape and the subsystem interface. */
import type { Strategy } from '../balancer/types.js'
import type { SnapshotSource } from '../events.js'
import type { SubsystemContext } from '../internal/context.js'
import type { Instance, InstanceStatus } from '../types.js'
import type { Unsubscribe } from '../backend.js'
import type { RoutingSource } from '../routing/types.js'
import type { ServiceChange, ServiceListener } from './subscriptions.js'
import type { ServicesOptions } from './services.js'

/** Which instances an answer or a pick may contain. Fields given here replace `defaultFilter`'s. */
export interface InstanceFilter {
  /** Allowed statuses; default ['UP'] (from `discovery.defaultFilter`). 'any' keeps every status. */
  readonly status?: readonly InstanceStatus[] | 'any'
  /** Every one of these tags must be present. */
  readonly tags?: readonly string[]
  /** Every one of these metadata entries must match exactly. */
  readonly metadata?: Readonly<Record<string, string>>
  /** Any other rule; a filter that throws excludes the instance (and is logged). */
  readonly filter?: (instance: Instance) => boolean
}

export interface DiscoverOptions extends InstanceFilter {
  /**
   * Prefer instances of this zone; when it has none, all zones are answered (spill-over).
   * discover() applies no zone unless asked; pick() prefers the local zone by default.
   */
  readonly zone?: string
  /** Oldest acceptable answer for this call; default `discovery.maxStalenessMs`. */
  readonly maxStalenessMs?: number
  /** How old an answer may be served when the server cannot be reached; default `discovery.staleIfErrorMs`. */
  readonly staleIfErrorMs?: number
  readonly signal?: AbortSignal
}

export interface PickOptions extends InstanceFilter {
  /** A built-in strategy name or a Balancer value; default `discovery.defaultBalancer`. */
  readonly strategy?: Strategy
  /**
   * The call's affinity key: `consistentHash()` answers equal keys with the same instance
   * (while it stays); other balancers ignore it.
   */
  readonly hashKey?: string
  /** Preferred zone with spill-over; default the registered service's zone; `false` for none. */
  readonly zone?: string | false
  readonly maxStalenessMs?: number
  readonly staleIfErrorMs?: number
  readonly signal?: AbortSignal
}

/** What every answer tells besides its instances. */
export interface DiscoveryMeta {
  /**
   * How long ago the server last confirmed this answer, ms: since the watch's last state or
   * confirmation (keep-alive, unchanged blocking answer, progress notification) or the last
   * successful poll or resolve, not since the last change; the snapshot's age from disk;
   * during empty protection, since the server first contradicted the set kept.
   */
  readonly ageMs: number
  /**
   * 'live' (the server keeps confirming it), 'memory' (confirmations stopped: an outage, a
   * hung server), 'disk' (a cold start from dataDir), 'protected' (held by empty protection).
   */
  readonly source: SnapshotSource
  /** The server's revision of this instance set (decimal string). */
  readonly revision: string
}

/**
 * The instances of a service: a frozen array (use it as `readonly Instance[]`) that also
 * tells its age, source and revision (non-enumerable, so it compares and serialises as a
 * plain array). Shared between callers: copy it (`[...list]`) to change it.
 */
export type DiscoveryResult = readonly Instance[] & DiscoveryMeta

export type DiscoveryContext = SubsystemContext & {
  /** This client's zone, preferred by pick() and routing. */
  readonly localZone?: string
}

export interface Discovery {
  /** The instances of a service, from the cache kept fresh by a watch. */
  discover(service: string, options?: DiscoverOptions): Promise<DiscoveryResult>
  /** One instance chosen by the balancer; NoAvailableInstanceError when none passes the filters. */
  pick(service: string, options?: PickOptions): Promise<Instance>
  /** pick() without waiting: undefined when the cache is cold (or nothing is available). */
  pickSync(service: string, options?: PickOptions): Instance | undefined
  /** Calls back with the service's state now, then with every change, until unsubscribed (the watch is held). */
  subscribe(service: string, listener: ServiceListener): Unsubscribe
  /** The same deliveries as an async iterator; ends on abort, `break`, or close. */
  changes(service: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<ServiceChange>
  /** The names of the services the registry holds; NotSupportedError when the backend cannot list them. */
  services(options?: ServicesOptions): Promise<string[]>
  /** The seam routing builds on (src/routing/): picks with a context, and the instances' live stats. */
  readonly routingSource: RoutingSource
  /** Stops every watch, poll and timer. Idempotent. */
  close(): Promise<void>
}
