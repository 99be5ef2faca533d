/**
 * A Prometheus Pushgateway sink. The Pushgateway stores what it is given and does not add
 * up, while batches carry counter and histogram deltas; so the sink keeps the running
 * totals of each group (job + instance) and PUTs the whole group in the text format on
 * every export. A batch is applied to the totals once, by batchId, so that a retried
 * push does not count it twice.
 */
import type { MetricExportContext, MetricSink } from '../backend.js'
import { RequestRejectedError } from '../errors.js'
import { bool, durationMs, failOption, httpUrl, isPlainObject, objectOption, string } from '../internal/options-kit.js'
import type { MetricBatch } from '../types.js'
import { createTransportFor } from '../transport/index.js'
import type { TlsOptions, Transport } from '../transport/types.js'
import { EXPOSITION_CONTENT_TYPE } from './exposition.js'
import { isUserLabelName } from './names.js'
import { applyPoints, renderFamilies, type Families } from './pushgateway-group.js'

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
  /**
   * DELETE every group this sink pushed when it closes (the client's close()), so a stopped
   * instance leaves no group whose last values Prometheus would keep scraping. Default true.
   */
  readonly deleteOnClose?: boolean
}

interface Group {
  readonly families: Families
  /** Families the gateway refused, and when: left out of pushes until QUARANTINE_MS passed. */
  readonly refused: Map<string, number>
}

/** How long a refused metric stays out before one more try (the conflict may be gone). */
const QUARANTINE_MS = 60_000

/** Batch ids applied, per sink; enough to cover every batch a queue can hold several times over. */
const REMEMBERED_BATCHES = 4_096

export function pushgatewaySink(options: PushgatewaySinkOptions): MetricSink {
  const base = checkOptions(options)
  // Retries belong to the metrics queue (with its own backoff and Retry-After), not to each push.
  const transport: Transport = createTransportFor('pushgateway', {
    servers: [base],
    requestTimeoutMs: options.timeoutMs ?? 10_000,
    retry: { retries: 0 },
    connections: 2,
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.headers !== undefined && { headers: options.headers }),
  })
  const groups = new Map<string, Group>()
  const applied = new Set<string>()
  const name = options.name ?? 'pushgateway'
  const push = (method: 'PUT' | 'POST', path: string, text: string, ctx: MetricExportContext): Promise<unknown> =>
    transport.request({
      method,
      path,
      rawBody: { data: text, contentType: EXPOSITION_CONTENT_TYPE },
      retry: false,
      ...(ctx.timeoutMs !== undefined && { timeoutMs: ctx.timeoutMs }),
      ...(ctx.signal !== undefined && { signal: ctx.signal }),
    })
  return {
    name,
    async export(batch: MetricBatch, ctx: MetricExportContext): Promise<void> {
      const path = groupPath(options, batch)
      let group = groups.get(path)
      if (group === undefined) groups.set(path, (group = { families: new Map(), refused: new Map() }))
      if (!applied.has(batch.batchId)) {
        applyPoints(group.families, batch.points)
        remember(applied, batch.batchId)
      }
      await pushIsolating(group, batch, ctx, (method, text) => push(method, path, text, ctx))
    },
    async close(): Promise<void> {
      try {
        if (options.deleteOnClose !== false) await Promise.allSettled([...groups.keys()].map((path) => transport.request({ method: 'DELETE', path, retry: false })))
      } finally {
        await transport.close()
      }
    },
  }
}

type Push = (method: 'PUT' | 'POST', text: string) => Promise<unknown>

/**
 * PUTs the group without its refused families. When the gateway refuses the push (a 400:
 * one metric conflicts with another group's), each family is tried alone with POST, which
 * replaces only that metric; the ones refused alone are left out and reported, and the
 * rest goes out, so one bad metric no longer freezes the whole group.
 */
async function pushIsolating(group: Group, batch: MetricBatch, ctx: MetricExportContext, push: Push): Promise<void> {
  const now = Date.now()
  for (const [metric, at] of group.refused) if (now - at >= QUARANTINE_MS) group.refused.delete(metric)
  const allowed = (metric: string): boolean => !group.refused.has(metric)
  try {
    await push('PUT', renderFamilies(group.families, allowed))
    return
  } catch (error) {
    if (!(error instanceof RequestRejectedError)) throw error
    const refused = await findRefused(group, allowed, push)
    if (refused.size === 0) throw error
    for (const metric of refused.keys()) group.refused.set(metric, now)
    const points = batch.points.filter((p) => refused.has(p.name)).length
    const reasons = [...refused.values()].join('; ')
    ctx.reportDropped?.({ points, reason: `rejected by the Pushgateway: ${reasons}`.slice(0, 1_000), metrics: [...refused.keys()] })
  }
  await push('PUT', renderFamilies(group.families, allowed))
}

/** Each family pushed alone: the refused ones, with the gateway's message. */
async function findRefused(group: Group, allowed: (metric: string) => boolean, push: Push): Promise<Map<string, string>> {
  const refused = new Map<string, string>()
  for (const metric of group.families.keys()) {
    if (!allowed(metric)) continue
    try {
      await push('POST', renderFamilies(group.families, (m) => m === metric))
    } catch (error) {
      if (!(error instanceof RequestRejectedError)) throw error
      refused.set(metric, error.message)
    }
  }
  return refused
}

const KNOWN_KEYS = ['url', 'job', 'grouping', 'name', 'headers', 'tls', 'timeoutMs', 'deleteOnClose']

/** Options are named `pushgateway.<option>`; headers and tls are checked by the transport. */
function checkOptions(options: PushgatewaySinkOptions): string {
  const o = objectOption('pushgateway', options, KNOWN_KEYS, { required: true })
  const url = httpUrl('pushgateway.url', o.url)
  string('pushgateway.job', o.job)
  if (o.grouping !== undefined && !isPlainObject(o.grouping)) failOption('pushgateway.grouping', 'must be an object of label values', o.grouping)
  for (const [k, v] of Object.entries(o.grouping ?? {})) {
    if (!isUserLabelName(k) || k === 'job') failOption('pushgateway.grouping', 'must have valid label names other than "job"', k)
    if (typeof v !== 'string') failOption(`pushgateway.grouping.${k}`, 'must be a string', v)
  }
  string('pushgateway.name', o.name)
  bool('pushgateway.deleteOnClose', o.deleteOnClose, true)
  durationMs('pushgateway.timeoutMs', o.timeoutMs, {})
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
