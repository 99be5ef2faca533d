/**
 * OTLP metrics (in their JSON shape, which the protobuf reader also yields) → protocol v1
 * points, per resource: `service.name` and `service.instance.id` name the service and the
 * instance. The store adds up deltas, so cumulative sums and histograms are turned into
 * deltas against the last value seen for the series (a lower value or a new start time is a
 * reset). Points the store cannot hold (exponential histograms, summaries, delta up-down
 * sums, bad values) are counted as rejected, as OTLP's partial success wants.
 */
import { LRUCache } from 'lru-cache'
import type { MetricPoint } from '../types.js'
import { badRequest } from './http-error.js'
import { MAX_BUCKETS } from './metrics-validation.js'
import { isPlainObject } from './validation.js'

type Json = Record<string, unknown>

const DELTA = 1
const CUMULATIVE = 2

export interface OtlpResource {
  readonly service: string
  readonly instance: string
  readonly points: MetricPoint[]
}

export interface OtlpMapped {
  readonly resources: OtlpResource[]
  readonly rejected: number
  /** The first reasons for rejected points, for OTLP's errorMessage. */
  readonly problems: string[]
}

type Previous = { start: string; value: number } | { start: string; counts: number[]; sum: number }

/** Last cumulative value per series: enough for many instances; past it the oldest are forgotten. */
const TRACKED_SERIES = 200_000

export class OtlpMapper {
  readonly #cumulative = new LRUCache<string, Previous>({ max: TRACKED_SERIES })

  map(request: unknown): OtlpMapped {
    if (!isPlainObject(request)) throw badRequest('the OTLP request must be an ExportMetricsServiceRequest object')
    const list = request['resourceMetrics'] ?? []
    if (!Array.isArray(list)) throw badRequest('resourceMetrics must be an array')
    const out: { resources: OtlpResource[]; rejected: number; problems: string[] } = { resources: [], rejected: 0, problems: [] }
    const reject = (count: number, problem: string): void => {
      out.rejected += count
      if (out.problems.length < 5) out.problems.push(problem)
    }
    for (const rm of list) {
      const resource = objectAt(rm, 'resourceMetrics[]')
      const attributes = attributesOf(objectAt(resource['resource'] ?? {}, 'resource')['attributes'])
      const service = sanitizeName(attributes['service.name'], 'unknown-service')
      const instance = sanitizeName(attributes['service.instance.id'] ?? attributes['host.name'], 'unknown-instance', true)
      const points: MetricPoint[] = []
      for (const sm of arrayAt(resource['scopeMetrics'], 'scopeMetrics')) {
        for (const m of arrayAt(objectAt(sm, 'scopeMetrics[]')['metrics'], 'metrics')) {
          this.#metric(objectAt(m, 'metrics[]'), `${service}\u0000${instance}`, points, reject)
        }
      }
      out.resources.push({ service, instance, points })
    }
    return out
  }

  #metric(metric: Json, owner: string, points: MetricPoint[], reject: (count: number, problem: string) => void): void {
    const rawName = metric['name']
    if (typeof rawName !== 'string' || rawName === '') throw badRequest('a metric has no name')
    const base = sanitizeMetricName(rawName)
    const help = typeof metric['description'] === 'string' && metric['description'] !== '' ? { help: metric['description'].slice(0, 1_024) } : {}
    if (isPlainObject(metric['gauge'])) {
      for (const dp of dataPoints(metric['gauge'])) this.#number(dp, base, 'gauge', undefined, owner, help, points, reject)
      return
    }
    if (isPlainObject(metric['sum'])) {
      const sum = metric['sum']
      const temporality = sum['aggregationTemporality']
      const monotonic = sum['isMonotonic'] === true
      if (temporality !== DELTA && temporality !== CUMULATIVE) throw badRequest(`metric ${rawName}: aggregationTemporality must be 1 (delta) or 2 (cumulative)`)
      if (!monotonic && temporality === DELTA) return reject(dataPoints(sum).length, `metric ${rawName}: a delta up-down sum has no current value to store`)
      const name = monotonic && !base.endsWith('_total') ? `${base}_total` : base
      for (const dp of dataPoints(sum)) this.#number(dp, name, monotonic ? 'counter' : 'gauge', temporality, owner, help, points, reject)
      return
    }
    if (isPlainObject(metric['histogram'])) {
      const h = metric['histogram']
      const temporality = h['aggregationTemporality']
      if (temporality !== DELTA && temporality !== CUMULATIVE) throw badRequest(`metric ${rawName}: aggregationTemporality must be 1 (delta) or 2 (cumulative)`)
      for (const dp of dataPoints(h)) this.#histogram(dp, base, temporality, owner, help, points, reject)
      return
    }
    const kind = Object.keys(metric).find((k) => k === 'exponentialHistogram' || k === 'summary') ?? 'no data'
    reject(isPlainObject(metric[kind]) ? dataPoints(metric[kind]).length : 1, `metric ${rawName}: ${kind} is not supported`)
  }

  #number(
    dp: Json,
    name: string,
    kind: 'counter' | 'gauge',
    temporality: number | undefined,
    owner: string,
    help: { help?: string },
    points: MetricPoint[],
    reject: (count: number, problem: string) => void,
  ): void {
    const value = dp['asDouble'] !== undefined ? dp['asDouble'] : dp['asInt'] !== undefined ? Number(dp['asInt']) : undefined
    if (typeof value !== 'number' || !Number.isFinite(value) || (kind === 'counter' && value < 0)) return reject(1, `metric ${name}: value ${String(value)} is not valid`)
    const labels = labelsOf(dp['attributes'])
    if (kind === 'gauge' || temporality === DELTA) return void points.push({ name, kind, labels, value, ...help })
    const key = `${owner}\u0000${name}\u0000${labelKey(labels)}`
    const start = String(dp['startTimeUnixNano'] ?? '')
    const previous = this.#cumulative.get(key)
    this.#cumulative.set(key, { start, value })
    const reset = previous === undefined || !('value' in previous) || previous.start !== start || value < previous.value
    points.push({ name, kind, labels, value: reset ? value : value - previous.value, ...help })
  }

  #histogram(dp: Json, name: string, temporality: number, owner: string, help: { help?: string }, points: MetricPoint[], reject: (count: number, problem: string) => void): void {
    const bounds = (Array.isArray(dp['explicitBounds']) ? dp['explicitBounds'] : []).map(Number)
    const rawCounts = Array.isArray(dp['bucketCounts']) ? dp['bucketCounts'] : []
    const total = Number(dp['count'] ?? 0)
    const counts = rawCounts.length === 0 ? [total] : rawCounts.map(Number)
    const sum = dp['sum'] === undefined ? 0 : Number(dp['sum'])
    const problem = histogramProblem(bounds, counts, total, sum)
    if (problem !== undefined) return reject(1, `metric ${name}: ${problem}`)
    const labels = labelsOf(dp['attributes'])
    let delta = { counts, sum }
    if (temporality === CUMULATIVE) {
      const key = `${owner}\u0000${name}\u0000${labelKey(labels)}`
      const start = String(dp['startTimeUnixNano'] ?? '')
      const previous = this.#cumulative.get(key)
      this.#cumulative.set(key, { start, counts, sum })
      const usable = previous !== undefined && 'counts' in previous && previous.start === start && previous.counts.length === counts.length
      if (usable && counts.every((c, i) => c >= previous.counts[i]!)) {
        delta = { counts: counts.map((c, i) => c - previous.counts[i]!), sum: sum - previous.sum }
      }
    }
    const count = delta.counts.reduce((a, b) => a + b, 0)
    points.push({ name, kind: 'histogram', labels, buckets: bounds, counts: delta.counts, sum: delta.sum, count, ...help })
  }
}

function histogramProblem(bounds: number[], counts: number[], total: number, sum: number): string | undefined {
  if (bounds.length > MAX_BUCKETS) return `more than ${MAX_BUCKETS} bucket bounds`
  if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) return 'explicitBounds must be finite and strictly ascending'
  if (counts.length !== bounds.length + 1) return `bucketCounts must hold ${bounds.length + 1} counts`
  if (counts.some((c) => !Number.isSafeInteger(c) || c < 0)) return 'bucketCounts must be non-negative integers'
  if (counts.reduce((a, b) => a + b, 0) !== total) return 'count must be the sum of bucketCounts'
  if (!Number.isFinite(sum)) return 'sum must be finite'
  return undefined
}

function objectAt(value: unknown, at: string): Json {
  if (!isPlainObject(value)) throw badRequest(`${at} must be an object`)
  return value
}

function arrayAt(value: unknown, at: string): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw badRequest(`${at} must be an array`)
  return value
}

function dataPoints(data: Json): Json[] {
  return arrayAt(data['dataPoints'], 'dataPoints').map((dp) => objectAt(dp, 'dataPoints[]'))
}

/** Scalar attribute values as strings; arrays, maps and bytes are left out. */
function attributesOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const kv of arrayAt(value, 'attributes')) {
    const { key, value: v } = objectAt(kv, 'attributes[]')
    if (typeof key !== 'string' || !isPlainObject(v)) throw badRequest('an attribute needs a string key and a value object')
    const scalar = v['stringValue'] ?? v['intValue'] ?? v['doubleValue'] ?? v['boolValue']
    if (scalar !== undefined && typeof scalar !== 'object') out[key] = String(scalar)
  }
  return out
}

/** Attribute keys the Prometheus way (`http.route` → `http_route`), sorted. */
function labelsOf(value: unknown): Record<string, string> {
  const attributes = attributesOf(value)
  const labels: Record<string, string> = {}
  for (const key of Object.keys(attributes).sort()) {
    let name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^__+/, '_')
    if (name === '' || /^[0-9]/.test(name)) name = `_${name}`
    labels[name] = attributes[key]!
  }
  return labels
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(labels)
}

/** `http.server.duration` → `http_server_duration`, as Prometheus' OTLP translation does. */
export function sanitizeMetricName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, '_')
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

/** A service name or instance id the protocol accepts: other characters become `-`. */
function sanitizeName(value: string | undefined, fallback: string, colons = false): string {
  if (value === undefined) return fallback
  const cleaned = value
    .replace(colons ? /[^A-Za-z0-9._:-]/g : /[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128)
  return cleaned === '' ? fallback : cleaned
}
