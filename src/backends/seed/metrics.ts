/**
 * The monitor center stores one JSON object per service name, replaced on every post. A
 * batch becomes one readable object: the seed's three headline figures (throughput, error
 * rate, response time) when the usual series exist, every series flattened under a
 * Prometheus-style name, and the raw points for anyone who wants them.
 *
 * {
 *   "name": "orders", "instance": "orders-1", "timestamp": 1764000010000, "batchId": "…",
 *   "windowMs": 10000,
 *   "summary": { "requests": 120, "throughputPerSec": 12, "errors": 3, "errorRate": 0.025,
 *                "responseTimeMs": { "count": 120, "avg": 14.2, "p50": 9.8, "p90": 31, "p99": 48 } },
 *   "metrics": { "http_requests_total{route=\"/a\",status=\"200\"}": 117,
 *                "http_request_duration_ms{route=\"/a\"}": { "count": 120, "sum": 1704, "avg": 14.2, … } },
 *   "points": [ …the batch's points as the client aggregated them… ]
 * }
 */
import type { CallContext, MetricSink } from '../../backend.js'
import type { MetricBatch, MetricPoint } from '../../types.js'
import type { SeedCenter } from './center.js'

type Histogram = Extract<MetricPoint, { kind: 'histogram' }>

export interface HistogramSummary {
  readonly count: number
  readonly sum: number
  readonly avg: number | null
  readonly p50: number | null
  readonly p90: number | null
  readonly p99: number | null
}

export function seriesName(point: MetricPoint): string {
  const labels = Object.keys(point.labels).sort()
  if (labels.length === 0) return point.name
  return `${point.name}{${labels.map((k) => `${k}=${JSON.stringify(point.labels[k])}`).join(',')}}`
}

/** Estimates a quantile from non-cumulative bucket counts, interpolating inside a bucket. */
export function bucketQuantile(buckets: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number
    if (seen + c >= rank && c > 0) {
      // The +Inf bucket has no upper bound: report the last finite one.
      if (i >= buckets.length) return buckets[buckets.length - 1] ?? null
      const lower = i === 0 ? Math.min(0, buckets[0] as number) : (buckets[i - 1] as number)
      const upper = buckets[i] as number
      return lower + ((upper - lower) * (rank - seen)) / c
    }
    seen += c
  }
  return buckets[buckets.length - 1] ?? null
}

export function summarizeHistogram(h: { buckets: readonly number[]; counts: readonly number[]; sum: number; count: number }): HistogramSummary {
  const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000)
  return {
    count: h.count,
    sum: h.sum,
    avg: h.count === 0 ? null : round(h.sum / h.count),
    p50: round(bucketQuantile(h.buckets, h.counts, 0.5)),
    p90: round(bucketQuantile(h.buckets, h.counts, 0.9)),
    p99: round(bucketQuantile(h.buckets, h.counts, 0.99)),
  }
}

const REQUESTS = /(^|_)requests_total$/
const LATENCY = /(duration|latency|response_time)/

function isError(point: MetricPoint): boolean {
  const status = point.labels.status ?? point.labels.code ?? ''
  return /^5\d\d$/.test(status) || point.labels.outcome === 'error' || point.labels.error === 'true'
}

/** The headline figures, from series that follow the usual naming; absent ones are left out. */
export function summarize(points: readonly MetricPoint[], windowMs: number | undefined): Record<string, unknown> {
  const summary: Record<string, unknown> = {}
  const requests = points.filter((p) => p.kind === 'counter' && REQUESTS.test(p.name)) as { value: number; labels: Record<string, string> }[]
  if (requests.length > 0) {
    const total = requests.reduce((a, p) => a + p.value, 0)
    const errors = requests.filter((p) => isError(p as MetricPoint)).reduce((a, p) => a + p.value, 0)
    summary.requests = total
    if (windowMs !== undefined && windowMs > 0) summary.throughputPerSec = Math.round((total / windowMs) * 1e6) / 1e3
    summary.errors = errors
    summary.errorRate = total === 0 ? 0 : Math.round((errors / total) * 1e4) / 1e4
  }
  const latency = points.filter((p): p is Histogram => p.kind === 'histogram' && LATENCY.test(p.name))
  const first = latency[0]
  if (first !== undefined) {
    // Series with other bucket bounds cannot be added bucket by bucket; they are left out here.
    const same = latency.filter((h) => h.buckets.length === first.buckets.length && h.buckets.every((b, i) => b === first.buckets[i]))
    const counts = first.counts.map((_, i) => same.reduce((a, h) => a + (h.counts[i] ?? 0), 0))
    const sum = same.reduce((a, h) => a + h.sum, 0)
    summary.responseTimeMs = summarizeHistogram({ buckets: first.buckets, counts, sum, count: counts.reduce((a, b) => a + b, 0) })
  }
  return summary
}

export function monitorRecord(batch: MetricBatch, windowMs: number | undefined): Record<string, unknown> {
  const metrics: Record<string, unknown> = {}
  for (const p of batch.points) metrics[seriesName(p)] = p.kind === 'histogram' ? summarizeHistogram(p) : p.value
  return {
    name: batch.service,
    instance: batch.instance,
    timestamp: batch.timestamp,
    batchId: batch.batchId,
    ...(windowMs === undefined ? {} : { windowMs }),
    summary: summarize(batch.points, windowMs),
    metrics,
    points: batch.points,
  }
}

/** Posts each batch as one object to the monitor center's POST /register. */
export function createMonitorSink(center: SeedCenter): MetricSink {
  const lastAt = new Map<string, number>()
  return {
    name: 'seed-monitor',
    async export(batch: MetricBatch, ctx: CallContext): Promise<void> {
      const key = `${batch.service}\0${batch.instance}`
      const previous = lastAt.get(key)
      const windowMs = previous === undefined || batch.timestamp <= previous ? undefined : batch.timestamp - previous
      await center.post('/register', monitorRecord(batch, windowMs), ctx)
      lastAt.set(key, batch.timestamp)
    },
  }
}
