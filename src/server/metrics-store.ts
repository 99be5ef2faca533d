/**
 * Latest metric values per service and instance (protocol section 7), in memory only.
 * Counters add up, gauges take the last value, histograms add up per bucket layout.
 */
import type { MetricBatch, MetricPoint } from '../types.js'
import { RecentIds } from './batch-ids.js'
import { addHistograms, sameBuckets } from './histogram.js'
import { badRequest, limitExceeded } from './http-error.js'

type Point = MetricPoint

interface InstanceMetrics {
  updatedAt: number
  /** Monotonic time of the latest batch, for retention. */
  seenAt: number
  readonly series: Map<string, Point>
}

export interface MetricsView {
  readonly service: string
  readonly updatedAt: number
  readonly instances: Record<string, { updatedAt: number; points: Point[] }>
  readonly totals: Point[]
}

export interface MetricsStoreOptions {
  /** Instances with no batch for this long are dropped. */
  readonly retentionMs: number
  readonly now?: () => number
  /** Series of one service (summed over its instances); a batch adding more answers 429. */
  readonly maxSeriesPerService?: number
  /** Series in total. */
  readonly maxSeries?: number
  /** Told of each refusal and each expired instance, for the server's counters and log. */
  readonly onRefuse?: (limit: 'maxSeriesPerService' | 'maxSeries', service: string) => void
  readonly onExpired?: (count: number) => void
  /** Called with every batch once it is applied (metric history hooks in here). */
  readonly onApplied?: (batch: MetricBatch) => void
}

/** Retention runs on this timer, looking at most at SWEEP_BUDGET instances per tick. */
const SWEEP_INTERVAL_MS = 1_000
const SWEEP_BUDGET = 5_000

export class MetricsStore {
  readonly #services = new Map<string, Map<string, InstanceMetrics>>()
  /** Series count per service, summed over its instances. */
  readonly #seriesOf = new Map<string, number>()
  #seriesTotal = 0
  readonly #seen = new RecentIds()
  readonly #retentionMs: number
  readonly #now: () => number
  readonly #maxPerService: number
  readonly #maxTotal: number
  readonly #onRefuse: NonNullable<MetricsStoreOptions['onRefuse']>
  readonly #onExpired: NonNullable<MetricsStoreOptions['onExpired']>
  readonly #timer: NodeJS.Timeout
  #sweep: Iterator<readonly [string, Map<string, InstanceMetrics>, string, InstanceMetrics]> | undefined
  readonly #onApplied: ((batch: MetricBatch) => void) | undefined

  constructor(options: MetricsStoreOptions) {
    this.#retentionMs = options.retentionMs
    this.#now = options.now ?? (() => performance.now())
    this.#maxPerService = options.maxSeriesPerService ?? Infinity
    this.#maxTotal = options.maxSeries ?? Infinity
    this.#onRefuse = options.onRefuse ?? (() => {})
    this.#onExpired = options.onExpired ?? (() => {})
    this.#timer = setInterval(() => this.sweep(SWEEP_BUDGET), SWEEP_INTERVAL_MS)
    this.#timer.unref()
    this.#onApplied = options.onApplied
  }

  /** Series held now, in total. */
  get seriesCount(): number {
    return this.#seriesTotal
  }

  /**
   * The one way points enter the store (protocol batches and any other ingestion): applies
   * a checked batch, all or nothing. False when it repeats one already applied; throws 429
   * `limit_exceeded` when it would pass a series limit, 400 when a counter would overflow.
   */
  push(batch: MetricBatch): boolean {
    // Ids are scoped to the sending instance, so two senders cannot drop each other's data.
    const id = `${batch.service}\u0000${batch.instance}\u0000${batch.batchId}`
    if (this.#seen.has(id)) return false
    const existing = this.#services.get(batch.service)?.get(batch.instance)?.series
    // Staged first, so a refused batch changes nothing; a series repeated in the batch accumulates.
    const staged = new Map<string, Point>()
    for (const point of batch.points) {
      const key = seriesKey(point)
      staged.set(key, accumulate(staged.get(key) ?? existing?.get(key), point))
    }
    for (const p of staged.values()) if (p.kind !== 'histogram' && !Number.isFinite(p.value)) throw badRequest(`counter ${p.name} would pass the largest finite number`)
    this.#admit(batch.service, existing, staged.keys())
    this.#seen.add(id)
    const metrics = this.#instance(batch.service, batch.instance, batch.timestamp)
    for (const [key, point] of staged) {
      if (!metrics.series.has(key)) this.#addSeries(batch.service, 1)
      metrics.series.set(key, point)
    }
    this.#onApplied?.(batch)
    return true
  }

  /** Drops instances past retention, looking at up to `budget` of them from where the last call stopped. */
  sweep(budget: number): void {
    const cutoff = this.#now() - this.#retentionMs
    let expired = 0
    for (let n = 0; n < budget; n++) {
      this.#sweep ??= this.#walk()
      const next = this.#sweep.next()
      if (next.done === true) {
        this.#sweep = undefined
        break
      }
      const [service, instances, id, metrics] = next.value
      if (metrics.seenAt >= cutoff) continue
      this.#drop(service, instances, id, metrics)
      expired += 1
    }
    if (expired > 0) this.#onExpired(expired)
  }

  close(): void {
    clearInterval(this.#timer)
  }

  *#walk(): Generator<readonly [string, Map<string, InstanceMetrics>, string, InstanceMetrics]> {
    for (const [service, instances] of this.#services) for (const [id, metrics] of instances) yield [service, instances, id, metrics]
  }

  #admit(service: string, existing: ReadonlyMap<string, Point> | undefined, keys: Iterable<string>): void {
    let fresh = 0
    for (const key of keys) if (!existing?.has(key)) fresh += 1
    if (fresh === 0) return
    const perService = this.#seriesOf.get(service) ?? 0
    if (perService + fresh > this.#maxPerService) {
      this.#onRefuse('maxSeriesPerService', service)
      throw limitExceeded('maxSeriesPerService', `service ${JSON.stringify(service)} would hold ${perService + fresh} metric series, over the limit of ${this.#maxPerService}`)
    }
    if (this.#seriesTotal + fresh > this.#maxTotal) {
      this.#onRefuse('maxSeries', service)
      throw limitExceeded('maxSeries', `the server would hold ${this.#seriesTotal + fresh} metric series, over the limit of ${this.#maxTotal}`)
    }
  }

  #instance(service: string, instance: string, timestamp: number): InstanceMetrics {
    const instances = this.#services.get(service) ?? new Map<string, InstanceMetrics>()
    this.#services.set(service, instances)
    let metrics = instances.get(instance)
    if (!metrics) {
      metrics = { updatedAt: timestamp, seenAt: 0, series: new Map() }
      instances.set(instance, metrics)
    }
    metrics.updatedAt = Math.max(metrics.updatedAt, timestamp)
    metrics.seenAt = this.#now()
    return metrics
  }

  #addSeries(service: string, by: number): void {
    const next = (this.#seriesOf.get(service) ?? 0) + by
    if (next <= 0) this.#seriesOf.delete(service)
    else this.#seriesOf.set(service, next)
    this.#seriesTotal += by
  }

  #drop(service: string, instances: Map<string, InstanceMetrics>, id: string, metrics: InstanceMetrics): void {
    if (instances.get(id) !== metrics) return
    instances.delete(id)
    this.#addSeries(service, -metrics.series.size)
    if (instances.size === 0 && this.#services.get(service) === instances) this.#services.delete(service)
  }

  /** Every service with metrics, sorted (the exposition page walks them). */
  services(): string[] {
    return [...this.#services.keys()].sort()
  }

  query(service: string): MetricsView | undefined {
    const instances = this.#prune(service)
    if (!instances) return undefined
    const ids = [...instances.keys()].sort()
    const totals = new Map<string, Point>()
    const view: MetricsView['instances'] = {}
    let updatedAt = 0
    for (const id of ids) {
      const metrics = instances.get(id)!
      updatedAt = Math.max(updatedAt, metrics.updatedAt)
      const points = [...metrics.series.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p)
      view[id] = { updatedAt: metrics.updatedAt, points }
      for (const point of points) {
        const key = seriesKey(point)
        totals.set(key, total(totals.get(key), point))
      }
    }
    return { service, updatedAt, instances: view, totals: [...totals.values()] }
  }

  /** Drops instances past retention; the service's instances, if any remain. */
  #prune(service: string): Map<string, InstanceMetrics> | undefined {
    const instances = this.#services.get(service)
    if (!instances) return undefined
    const cutoff = this.#now() - this.#retentionMs
    for (const [id, metrics] of instances) if (metrics.seenAt < cutoff) this.#drop(service, instances, id, metrics)
    return instances.size > 0 ? instances : undefined
  }
}

function seriesKey(point: Point): string {
  const labels = Object.keys(point.labels)
    .sort()
    .map((k) => [k, point.labels[k]])
  return JSON.stringify([point.name, labels])
}

/** One instance's series after `next` arrives. */
function accumulate(previous: Point | undefined, next: Point): Point {
  const help = next.help ?? previous?.help
  const withHelp = <P extends Point>(p: P): P => (help === undefined ? p : { ...p, help })
  if (previous?.kind === 'counter' && next.kind === 'counter') return withHelp({ ...next, value: previous.value + next.value })
  if (previous?.kind === 'histogram' && next.kind === 'histogram' && sameBuckets(previous.buckets, next.buckets)) {
    return withHelp({ ...next, ...addHistograms(copy(previous), copy(next)) })
  }
  return withHelp({ ...next })
}

/** The running total of a series over instances; gauges are summed too. */
function total(sum: Point | undefined, point: Point): Point {
  if (sum === undefined) return point.kind === 'histogram' ? { ...point, ...copy(point) } : { ...point }
  if (sum.kind !== point.kind) return sum // the same series with another kind elsewhere: keep the first
  if (sum.kind === 'histogram' && point.kind === 'histogram') return { ...sum, ...addHistograms(copy(sum), copy(point)) }
  // Saturates rather than reaching Infinity, which JSON would carry as null.
  if (sum.kind !== 'histogram' && point.kind !== 'histogram') return { ...sum, value: saturate(sum.value + point.value) }
  return sum
}

function copy(h: Extract<Point, { kind: 'histogram' }>): { buckets: number[]; counts: number[]; sum: number; count: number } {
  return { buckets: [...h.buckets], counts: [...h.counts], sum: h.sum, count: h.count }
}

function saturate(value: number): number {
  return Number.isFinite(value) ? value : value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE
}
