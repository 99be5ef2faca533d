/**
 * A Prometheus Pushgateway sink. The Pushgateway stores what it is given and does not add
 * up, while batches carry counter and histogram deltas; so the sink keeps the running
 * totals of each group (job + instance) and PUTs the whole group in the text format on
 * every export. A batch is applied to the totals once, by batchId, so that a retried
 * push does not count it twice.
 */
import type { CallContext, MetricSink } from '../backend.js'
import { InvalidArgumentError } from '../errors.js'
import type { MetricBatch, MetricKind, MetricPoint } from '../types.js'
import { createTransport } from '../transport/index.js'
import type { TlsOptions, Transport } from '../transport/types.js'
import type { LabelSet } from './cells.js'
import { EXPOSITION_CONTENT_TYPE, finishExposition, writeHeader, writeHistogram, writeSample } from './exposition.js'
import { describe, isUserLabelName } from './names.js'

export interface PushgatewaySinkOptions {
  /** Base URL of the Pushgateway, e.g. `http://127.0.0.1:9091` (a path prefix is kept). */
  readonly url: string
  /** The `job` grouping label. Default: the batch's service name. */
  readonly job?: string
  /** Grouping labels after `job`. Default: `{ instance: <the batch's instance id> }`. */
  readonly grouping?: Readonly<Record<string, string>>
  /** The sink's name in events, logs and the dataDir folder. Default "pushgateway". */
  readonly name?: string
  /** Extra request headers, e.g. `authorization` for a Pushgateway behind basic auth. */
  readonly headers?: Readonly<Record<string, string>>
  readonly tls?: TlsOptions
  /** Deadline of one push when the caller gives none. Default 10,000 ms. */
  readonly timeoutMs?: number
}

interface Series {
  readonly labels: LabelSet
  value: number
  counts: number[]
  sum: number
}

interface Family {
  readonly kind: MetricKind
  help: string | undefined
  buckets: readonly number[]
  readonly series: Map<string, Series>
}

/** Batch ids applied, per sink; enough to cover every batch a queue can hold several times over. */
const REMEMBERED_BATCHES = 4_096

export function pushgatewaySink(options: PushgatewaySinkOptions): MetricSink {
  const base = checkOptions(options)
  // Retries belong to the metrics queue (with its own backoff and Retry-After), not to each push.
  const transport: Transport = createTransport({
    servers: [base],
    requestTimeoutMs: options.timeoutMs ?? 10_000,
    retry: { retries: 0 },
    connections: 2,
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.headers !== undefined && { headers: options.headers }),
  })
  const groups = new Map<string, Map<string, Family>>()
  const applied = new Set<string>()
  const name = options.name ?? 'pushgateway'
  return {
    name,
    async export(batch: MetricBatch, ctx: CallContext): Promise<void> {
      const path = groupPath(options, batch)
      let families = groups.get(path)
      if (families === undefined) groups.set(path, (families = new Map()))
      if (!applied.has(batch.batchId)) {
        apply(families, batch.points)
        remember(applied, batch.batchId)
      }
      await transport.request({
        method: 'PUT',
        path,
        rawBody: { data: renderFamilies(families), contentType: EXPOSITION_CONTENT_TYPE },
        retry: false,
        ...(ctx.timeoutMs !== undefined && { timeoutMs: ctx.timeoutMs }),
        ...(ctx.signal !== undefined && { signal: ctx.signal }),
      })
    },
    async close(): Promise<void> {
      await transport.close()
    },
  }
}

function checkOptions(options: PushgatewaySinkOptions): string {
  const fail = (what: string, value: unknown): never => {
    throw new InvalidArgumentError(`pushgatewaySink: ${what}, got ${describe(value)}`)
  }
  if (typeof options !== 'object' || options === null) fail('options must be an object', options)
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    return fail('url must be an http or https URL', options.url)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('url must be an http or https URL', options.url)
  if (url.username !== '' || url.password !== '') fail('url must not carry credentials (use headers.authorization)', url.origin)
  if (options.job !== undefined && (typeof options.job !== 'string' || options.job === '')) fail('job must be a non-empty string', options.job)
  for (const [k, v] of Object.entries(options.grouping ?? {})) {
    if (!isUserLabelName(k) || k === 'job') fail(`grouping label ${JSON.stringify(k)} is not a valid label name (or is "job")`, k)
    if (typeof v !== 'string') fail(`grouping.${k} must be a string`, v)
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) fail('name must be a non-empty string', options.name)
  if (options.timeoutMs !== undefined && !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) fail('timeoutMs must be a positive number', options.timeoutMs)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** `/metrics/job/<job>/<label>/<value>…`, values base64url-encoded when a `/` or emptiness requires it. */
function groupPath(options: PushgatewaySinkOptions, batch: MetricBatch): string {
  const grouping = options.grouping ?? { instance: batch.instance }
  let path = `/metrics/${segment('job', options.job ?? batch.service)}`
  for (const [k, v] of Object.entries(grouping)) path += `/${segment(k, v)}`
  return path
}

function segment(label: string, value: string): string {
  if (value === '') return `${label}@base64/=`
  if (value.includes('/')) return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`
  return `${label}/${encodeURIComponent(value)}`
}

function apply(families: Map<string, Family>, points: readonly MetricPoint[]): void {
  for (const point of points) {
    let family = families.get(point.name)
    if (family === undefined || family.kind !== point.kind) {
      family = { kind: point.kind, help: point.help, buckets: point.kind === 'histogram' ? point.buckets : [], series: new Map() }
      families.set(point.name, family)
    }
    if (point.help !== undefined) family.help = point.help
    const key = JSON.stringify(Object.entries(point.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (point.kind !== 'histogram') {
      const series = family.series.get(key)
      if (series === undefined) family.series.set(key, { labels: point.labels, value: point.value, counts: [], sum: 0 })
      else series.value = point.kind === 'counter' ? series.value + point.value : point.value
      continue
    }
    if (!sameBuckets(family.buckets, point.buckets)) {
      // The buckets changed: as in the protocol, the series are replaced, not merged.
      family.buckets = point.buckets
      family.series.clear()
    }
    const histogram = family.series.get(key)
    if (histogram === undefined) {
      family.series.set(key, { labels: point.labels, value: 0, counts: [...point.counts], sum: point.sum })
      continue
    }
    for (let i = 0; i < histogram.counts.length; i++) histogram.counts[i]! += point.counts[i] ?? 0
    histogram.sum += point.sum
  }
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

function renderFamilies(families: ReadonlyMap<string, Family>): string {
  const lines: string[] = []
  for (const [name, family] of families) {
    writeHeader(lines, name, family.kind, family.help)
    for (const s of family.series.values()) {
      if (family.kind === 'histogram') writeHistogram(lines, name, s.labels, family.buckets, s.counts, s.sum)
      else writeSample(lines, name, s.labels, s.value)
    }
  }
  return finishExposition(lines)
}

function remember(applied: Set<string>, batchId: string): void {
  applied.add(batchId)
  if (applied.size > REMEMBERED_BATCHES) {
    // Sets iterate in insertion order: the first is the oldest.
    for (const id of applied) {
      applied.delete(id)
      break
    }
  }
}
