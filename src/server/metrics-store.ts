/**
 * Latest metric values per service and instance (protocol section 7), in memory only.
 * Counters add up, gauges take the last value, histograms add up per bucket layout.
 */
import type { MetricBatch, MetricPoint } from '../types.js'
import { RecentIds } from './batch-ids.js'
import { addHistograms, sameBuckets } from './histogram.js'

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
}

export class MetricsStore {
  readonly #services = new Map<string, Map<string, InstanceMetrics>>()
  readonly #seen = new RecentIds()
  readonly #retentionMs: number
  readonly #now: () => number

  constructor(options: MetricsStoreOptions) {
    this.#retentionMs = options.retentionMs
    this.#now = options.now ?? (() => performance.now())
  }

  /** Applies a checked batch; false when it is a repeat of one already applied. */
  push(batch: MetricBatch): boolean {
    // Ids are scoped to the sending instance, so two senders cannot drop each other's data.
    const id = `${batch.service}\u0000${batch.instance}\u0000${batch.batchId}`
    if (this.#seen.has(id)) return false
    this.#seen.add(id)
    const instances = this.#services.get(batch.service) ?? new Map<string, InstanceMetrics>()
    this.#services.set(batch.service, instances)
    let metrics = instances.get(batch.instance)
    if (!metrics) {
      metrics = { updatedAt: batch.timestamp, seenAt: 0, series: new Map() }
      instances.set(batch.instance, metrics)
    }
    metrics.updatedAt = Math.max(metrics.updatedAt, batch.timestamp)
    metrics.seenAt = this.#now()
    for (const point of batch.points) {
      const key = seriesKey(point)
      metrics.series.set(key, accumulate(metrics.series.get(key), point))
    }
    return true
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
    for (const [id, metrics] of instances) if (metrics.seenAt < cutoff) instances.delete(id)
    if (instances.size > 0) return instances
    this.#services.delete(service)
    return undefined
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
  if (sum.kind !== 'histogram' && point.kind !== 'histogram') return { ...sum, value: sum.value + point.value }
  return sum
}

function copy(h: Extract<Point, { kind: 'histogram' }>): { buckets: number[]; counts: number[]; sum: number; count: number } {
  return { buckets: [...h.buckets], counts: [...h.counts], sum: h.sum, count: h.count }
}
