/**
 * Per-instance live state: the load least-request reads and the failure record outlier
 * ejection keeps. One mutable record per instance id, kept across snapshots while the
 * instance stays, so a new picker sees the same numbers.
 */
import type { InstanceLoad } from '../balancer/types.js'
import type { Instance } from '../types.js'

/** Weight of a new latency sample in the moving average. */
const EWMA_ALPHA = 0.3

export class InstanceStats implements InstanceLoad {
  inflight = 0
  latencyMs = 0
  /** Consecutive failed outcomes (connect errors, 5xx). */
  failures = 0
  /** Until when the instance is ejected (clock ms); 0 when it is not. */
  ejectedUntil = 0
  /** How many times it was ejected, decayed while it behaves (sets the next ejection's length). */
  ejections = 0
  /** When it last came back from an ejection. */
  returnedAt = 0
  /** scheme-less `host:port` for routing, computed once. */
  readonly hostPort: string

  constructor(instance: Instance) {
    this.hostPort = hostPortOf(instance)
  }

  /** Records time to response headers. */
  sample(durationMs: number): void {
    this.latencyMs = this.latencyMs === 0 ? durationMs : this.latencyMs + EWMA_ALPHA * (durationMs - this.latencyMs)
  }
}

/** `address:port`, with IPv6 literals bracketed as URLs need them. */
export function hostPortOf(instance: Instance): string {
  return instance.address.includes(':') ? `[${instance.address}]:${instance.port}` : `${instance.address}:${instance.port}`
}

/** The stats of one service's instances, by id. */
export class StatsTable {
  readonly #byId = new Map<string, InstanceStats>()

  of(instance: Instance): InstanceStats {
    let stats = this.#byId.get(instance.id)
    if (stats === undefined) this.#byId.set(instance.id, (stats = new InstanceStats(instance)))
    return stats
  }

  get(id: string): InstanceStats | undefined {
    return this.#byId.get(id)
  }

  /** Drops the records of instances that left; a changed address starts a fresh record. */
  retain(instances: readonly Instance[]): void {
    const keep = new Map(instances.map((i) => [i.id, i]))
    for (const [id, stats] of this.#byId) {
      const instance = keep.get(id)
      if (instance === undefined || hostPortOf(instance) !== stats.hostPort) this.#byId.delete(id)
    }
  }

  values(): IterableIterator<InstanceStats> {
    return this.#byId.values()
  }
}
