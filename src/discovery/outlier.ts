/**
 * Outlier ejection, after gRPC's outlier detection (A50) and Envoy's consecutive-5xx rule:
 * an instance with `consecutiveFailures` failed outcomes in a row leaves the pickers for
 * baseEjectionMs x (times ejected), capped at maxEjectionMs. The multiplier decays by one
 * per baseEjectionMs spent back in service. At most maxEjectionPercent of the instances are
 * ejected at once (the first ejection is always allowed), and never the last one.
 */
import { unrefTimeout } from '../internal/timers.js'
import type { ResolvedOutlierOptions } from './options.js'
import type { InstanceStats, StatsTable } from './stats.js'

export class OutlierDetector {
  readonly #options: ResolvedOutlierOptions
  readonly #stats: StatsTable
  readonly #now: () => number
  /** Called when the set of ejected instances changes, so pickers are rebuilt. */
  readonly #onChange: () => void
  /** How many instances the service has now (those a picker may use). */
  readonly #population: () => number
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: ResolvedOutlierOptions, stats: StatsTable, now: () => number, population: () => number, onChange: () => void) {
    this.#options = options
    this.#stats = stats
    this.#now = now
    this.#population = population
    this.#onChange = onChange
  }

  success(stats: InstanceStats): void {
    stats.failures = 0
  }

  failure(stats: InstanceStats): void {
    if (++stats.failures < this.#options.consecutiveFailures || stats.ejectedUntil !== 0 || this.#closed) return
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

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
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
