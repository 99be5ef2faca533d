/** Checks a metric batch (protocol section 7); any invalid point rejects the whole batch. */
import type { MetricBatch, MetricPoint } from '../types.js'
import { badRequest } from './http-error.js'
import { checkInstanceId, checkServiceName, isPlainObject, quote, requireObject, requireString } from './validation.js'
import { LABEL_NAME_PATTERN as LABEL_NAME, METRIC_NAME_PATTERN as METRIC_NAME } from '../internal/names.js'

export const MAX_POINTS = 10_000
export const MAX_BUCKETS = 64

export function parseBatch(body: unknown): MetricBatch {
  const o = requireObject(body, 'the metric batch')
  const service = o['service']
  const instance = o['instance']
  if (typeof service !== 'string') throw badRequest(`service must be a string, not ${quote(service)}`)
  if (typeof instance !== 'string') throw badRequest(`instance must be a string, not ${quote(instance)}`)
  const timestamp = o['timestamp']
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
    throw badRequest(`timestamp must be a non-negative number of milliseconds, not ${quote(timestamp)}`)
  }
  const points = o['points']
  if (!Array.isArray(points)) throw badRequest(`points must be an array, not ${quote(points)}`)
  if (points.length > MAX_POINTS) throw badRequest(`points has ${points.length} entries, more than ${MAX_POINTS}`)
  return {
    batchId: requireString(o['batchId'], 'batchId', 1, 128),
    service: checkServiceName(service),
    instance: checkInstanceId(instance),
    timestamp,
    points: points.map((p, i) => parsePoint(p, `points[${i}]`)),
  }
}

function parsePoint(value: unknown, at: string): MetricPoint {
  if (!isPlainObject(value)) throw badRequest(`${at} must be an object, not ${quote(value)}`)
  const name = value['name']
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) throw badRequest(`${at}.name is not a valid metric name: ${quote(name)}`)
  const labels = parseLabels(value['labels'], `${at}.labels`)
  const help = value['help'] === undefined ? {} : { help: requireString(value['help'], `${at}.help`, 0, 1_024) }
  const kind = value['kind']
  if (kind === 'counter' || kind === 'gauge') {
    const v = value['value']
    if (typeof v !== 'number' || !Number.isFinite(v) || (kind === 'counter' && v < 0)) {
      throw badRequest(`${at}.value must be a finite number${kind === 'counter' ? ' >= 0' : ''}, not ${quote(v)}`)
    }
    return { name, kind, labels, value: v, ...help }
  }
  if (kind === 'histogram') return { name, kind, labels, ...parseHistogram(value, at), ...help }
  throw badRequest(`${at}.kind must be counter, gauge or histogram, not ${quote(kind)}`)
}

function parseLabels(value: unknown, at: string): Record<string, string> {
  if (value === undefined) return {}
  if (!isPlainObject(value)) throw badRequest(`${at} must be an object, not ${quote(value)}`)
  for (const [name, v] of Object.entries(value)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw badRequest(`${at} has an invalid label name ${quote(name)}`)
    if (typeof v !== 'string') throw badRequest(`${at}[${quote(name)}] must be a string, not ${quote(v)}`)
  }
  return Object.fromEntries(Object.entries(value)) as Record<string, string>
}

function parseHistogram(o: Record<string, unknown>, at: string): { buckets: number[]; counts: number[]; sum: number; count: number } {
  const { buckets, counts, sum, count } = o
  if (!Array.isArray(buckets) || buckets.length > MAX_BUCKETS) {
    throw badRequest(`${at}.buckets must be an array of at most ${MAX_BUCKETS} numbers`)
  }
  buckets.forEach((b: unknown, i) => {
    if (typeof b !== 'number' || !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number))) {
      throw badRequest(`${at}.buckets must be finite and strictly ascending; buckets[${i}] is ${quote(b)}`)
    }
  })
  if (!Array.isArray(counts) || counts.length !== buckets.length + 1) {
    throw badRequest(`${at}.counts must be an array of ${buckets.length + 1} counts (one per bucket plus +Inf)`)
  }
  let total = 0
  for (const c of counts as unknown[]) {
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) throw badRequest(`${at}.counts must hold non-negative integers, not ${quote(c)}`)
    total += c
  }
  if (typeof sum !== 'number' || !Number.isFinite(sum)) throw badRequest(`${at}.sum must be a finite number, not ${quote(sum)}`)
  if (count !== total) throw badRequest(`${at}.count must be the sum of counts (${total}), not ${quote(count)}`)
  return { buckets: buckets as number[], counts: counts as number[], sum, count: total }
}
