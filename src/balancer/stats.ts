/**
 * Per-instance live state: the load least-request reads and the failure record outlier
 * ejection keeps. One mutable record per instance id, kept across snapshots while the
 * instance stays, so a new picker sees the same numbers. Routing writes it (in flight,
 * latency, outcomes); balancers read it.
 */
import type { Instance } from '../types.js'
import type { InstanceLoad } from './types.js'

/** Weight of a new latency sample in the moving average. */
const EWMA_ALPHA = 0.3

/** Told of every outcome of a service's instances (outlier ejection listens). */
export type OutcomeListener = (stats: InstanceStats, failed: boolean) => void

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
  readonly #listeners: ReadonlySet<OutcomeListener> | undefined

  constructor(instance: Instance, listeners?: ReadonlySet<OutcomeListener>) {
    this.hostPort = hostPortOf(instance)
    this.#listeners = listeners
  }

  /** Records time to response headers. */
  sample(durationMs: number): void {
    this.latencyMs = this.latencyMs === 0 ? durationMs : this.latencyMs + EWMA_ALPHA * (durationMs - this.latencyMs)
  }

  /** Counts one request's outcome (a success resets the run of failures) and tells the listeners. */
  outcome(failed: boolean): void {
    this.failures = failed ? this.failures + 1 : 0
    if (this.#listeners !== undefined) for (const listener of this.#listeners) listener(this, failed)
  }
}

/** `address:port`, with IPv6 literals bracketed as URLs need them. */
export function hostPortOf(instance: Instance): string {
  return instance.address.includes(':') ? `[${instance.address}]:${instance.port}` : `${instance.address}:${instance.port}`
}

/** The stats of one service's instances, by id. */
export class StatsTable {
  readonly #byId = new Map<string, InstanceStats>()
  readonly #listeners = new Set<OutcomeListener>()

  of(instance: Instance): InstanceStats {
    let stats = this.#byId.get(instance.id)
    if (stats === undefined) this.#byId.set(instance.id, (stats = new InstanceStats(instance, this.#listeners)))
    return stats
  }

  get(id: string): InstanceStats | undefined {
    return this.#byId.get(id)
  }

  /** Calls `listener` with every outcome recorded on this table's instances, until the returned function is called. */
  onOutcome(listener: OutcomeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
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
