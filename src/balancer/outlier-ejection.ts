/**
 * Outlier ejection, after gRPC's outlier detection (A50) and Envoy's consecutive-5xx rule:
 * an instance with `consecutiveFailures` failed outcomes in a row leaves the pickers for
 * baseEjectionMs x (times ejected), capped at maxEjectionMs. The multiplier decays by one
 * per baseEjectionMs spent back in service. At most maxEjectionPercent of the instances are
 * ejected at once (the first ejection is always allowed), and never the last one.
 *
 * As grpc-js wraps a child policy, `outlierEjection(child)` is a Balancer that hands its
 * child the instances not ejected. The ejection state lives per service (OutlierDetector),
 * kept by whoever builds the pickers and reached through the PickerContext (EjectionHost).
 */
import { unrefTimeout } from '../internal/timers.js'
import type { Instance } from '../types.js'
import { resolveOutlierOptions, type OutlierOptions, type ResolvedOutlierOptions } from './outlier-options.js'
import type { InstanceStats, StatsTable } from './stats.js'
import { requireBalancer } from './strategy.js'
import type { Balancer, Picker, PickerContext, Strategy } from './types.js'

export class OutlierDetector {
  readonly #options: ResolvedOutlierOptions
  readonly #stats: StatsTable
  readonly #now: () => number
  /** Called when the set of ejected instances changes, so pickers are rebuilt. */
  readonly #onChange: () => void
  /** How many instances the service has now (those a picker may use). */
  readonly #population: () => number
  readonly #unlisten: () => void
  #timer: NodeJS.Timeout | undefined
  #closed = false

  /** Listens to the outcomes recorded on `stats` until closed. */
  constructor(options: ResolvedOutlierOptions, stats: StatsTable, now: () => number, population: () => number, onChange: () => void) {
    this.#options = options
    this.#stats = stats
    this.#now = now
    this.#population = population
    this.#onChange = onChange
    this.#unlisten = stats.onOutcome((s, failed) => {
      if (failed) this.#failed(s)
    })
  }

  isEjected(id: string): boolean {
    return (this.#stats.get(id)?.ejectedUntil ?? 0) !== 0
  }

  close(): void {
    this.#closed = true
    this.#unlisten()
    clearTimeout(this.#timer)
  }

  /** `stats.failures` already counts this failure (InstanceStats.outcome). */
  #failed(stats: InstanceStats): void {
    if (stats.failures < this.#options.consecutiveFailures || stats.ejectedUntil !== 0 || this.#closed) return
    if (!this.#mayEject()) return
    const now = this.#now()
    const { baseEjectionMs, maxEjectionMs } = this.#options
    if (stats.returnedAt !== 0) stats.ejections = Math.max(0, stats.ejections - Math.floor((now - stats.returnedAt) / baseEjectionMs))
    stats.ejections++
    stats.ejectedUntil = now + Math.min(baseEjectionMs * stats.ejections, maxEjectionMs)
    stats.failures = 0
    this.#schedule()
    this.#onChange()
  }

  #mayEject(): boolean {
    let ejected = 0
    for (const s of this.#stats.values()) if (s.ejectedUntil !== 0) ejected++
    const total = this.#population()
    return total - ejected > 1 && ejected * 100 < this.#options.maxEjectionPercent * total
  }

  /** One timer for the earliest return; it re-arms itself for the next. */
  #schedule(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    let next = Number.POSITIVE_INFINITY
    for (const s of this.#stats.values()) if (s.ejectedUntil !== 0 && s.ejectedUntil < next) next = s.ejectedUntil
    if (next === Number.POSITIVE_INFINITY || this.#closed) return
    this.#timer = unrefTimeout(() => this.#returnDue(), Math.max(1, next - this.#now()))
  }

  #returnDue(): void {
    const now = this.#now()
    let returned = false
    for (const s of this.#stats.values()) {
      if (s.ejectedUntil !== 0 && s.ejectedUntil <= now) {
        s.ejectedUntil = 0
        s.returnedAt = now
        returned = true
      }
    }
    this.#schedule()
    if (returned) this.#onChange()
  }
}

/**
 * A PickerContext that also keeps one service's ejection state: discovery's. Under a context
 * without it (a picker built by hand) the wrapper ejects nothing.
 */
export interface EjectionHost extends PickerContext {
  /** The service's detector for these options, created on first use and kept with the service. */
  ejector(options: ResolvedOutlierOptions): OutlierDetector
}

export class EjectingBalancer implements Balancer {
  readonly name: string
  readonly child: Balancer
  readonly options: ResolvedOutlierOptions

  constructor(child: Balancer, options: ResolvedOutlierOptions) {
    this.child = child
    this.options = options
    this.name = `outlier-ejection(${child.name})`
  }

  /** The instances not ejected, or all of them when every one is (never an empty set from ejection). */
  healthy(instances: readonly Instance[], context: PickerContext): readonly Instance[] {
    const detector = (context as Partial<EjectionHost>).ejector?.(this.options)
    if (detector === undefined) return instances
    const healthy = instances.filter((i) => !detector.isEjected(i.id))
    return healthy.length > 0 && healthy.length < instances.length ? Object.freeze(healthy) : instances
  }

  build(instances: readonly Instance[], context: PickerContext): Picker {
    return this.child.build(this.healthy(instances, context), context)
  }
}

/** The ejecting wrapper a balancer is, if it is one. */
export function ejectionOf(balancer: Balancer): EjectingBalancer | undefined {
  return balancer instanceof EjectingBalancer ? balancer : undefined
}

/** `balancer` with ejection by `options` (the `discovery.outlier` sugar); one already ejecting is kept as it is. */
export function withEjection(balancer: Balancer, options: ResolvedOutlierOptions): Balancer {
  return balancer instanceof EjectingBalancer ? balancer : new EjectingBalancer(balancer, options)
}

/**
 * Wraps a balancer so that instances failing in a row (connect errors, 5xx of routed
 * requests) leave its set for a while: `strategy: outlierEjection(roundRobin(), { consecutiveFailures: 3 })`.
 * Throws InvalidArgumentError for a child that is not a strategy or for a bad option.
 */
export function outlierEjection(child: Strategy, options?: OutlierOptions): Balancer {
  return new EjectingBalancer(requireBalancer('outlierEjection(child)', child), resolveOutlierOptions('outlierEjection() options', options))
}
