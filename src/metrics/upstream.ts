/**
 * Per-upstream request metrics, recorded by gov.fetch and the dispatcher for every call
 * they route. Handles are bound once per (service, status class), so a request costs a
 * Map.get and three cell updates, and allocates nothing.
 */
import type { UpstreamOutcome } from '../types.js'
import type { BoundCounter, BoundHistogram, Counter, Histogram, Metrics } from './types.js'

export type { UpstreamOutcome }

export const UPSTREAM_REQUESTS = 'governance_upstream_requests_total'
export const UPSTREAM_ERRORS = 'governance_upstream_errors_total'
export const UPSTREAM_DURATION = 'governance_upstream_request_duration_seconds'

/** Services remembered with bound handles; past it (a bug, e.g. ids as host names) the plain path is used. */
const MAX_BOUND_SERVICES = 1_000
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error'] as const
type StatusClass = (typeof CLASSES)[number]

export interface UpstreamRecorder {
  /** Never throws. Counted as an error: `error` set, no status, or a 5xx. */
  record(service: string, outcome: UpstreamOutcome, durationMs: number): void
}

interface Handles {
  readonly requests: Partial<Record<StatusClass, BoundCounter>>
  readonly errors: BoundCounter
  readonly duration: BoundHistogram
}

const disabled: UpstreamRecorder = { record: () => undefined }

/** A recorder writing into `metrics`; a no-op when the Metrics was created with upstreamMetrics: false. */
export function createUpstreamRecorder(metrics: Metrics): UpstreamRecorder {
  if ((metrics as { readonly upstreamMetricsEnabled?: boolean }).upstreamMetricsEnabled === false) return disabled
  const requests = metrics.counter(UPSTREAM_REQUESTS, { help: 'Requests routed to an upstream service, by status class.' })
  const errors = metrics.counter(UPSTREAM_ERRORS, { help: 'Requests to an upstream service that failed or answered 5xx.' })
  const duration = metrics.histogram(UPSTREAM_DURATION, { help: 'Duration of requests to an upstream service, in seconds.' })
  const bound = new Map<string, Handles>()
  return {
    record(service, outcome, durationMs) {
      try {
        const status = outcome.status
        const cls = outcome.error === true || typeof status !== 'number' ? 'error' : statusClass(status)
        const failed = cls === 'error' || cls === '5xx'
        const handles = bound.get(service) ?? bindService(bound, service, errors, duration)
        if (handles === undefined) return recordUnbound(service, cls, failed, durationMs, requests, errors, duration)
        const counter = (handles.requests[cls] ??= requests.bind({ service, status_class: cls }))
        counter.inc()
        if (failed) handles.errors.inc()
        handles.duration.observe(durationMs / 1_000)
      } catch {
        // Recording never throws and bind() only throws for bad label names, which these
        // are not; the guard keeps the request path safe all the same.
      }
    },
  }
}

function statusClass(status: number): StatusClass {
  const c = Math.floor(status / 100)
  return c >= 1 && c <= 5 ? (CLASSES[c - 1] as StatusClass) : 'error'
}

function bindService(bound: Map<string, Handles>, service: string, errors: Counter, duration: Histogram): Handles | undefined {
  if (bound.size >= MAX_BOUND_SERVICES) return undefined
  const handles: Handles = { requests: {}, errors: errors.bind({ service }), duration: duration.bind({ service }) }
  bound.set(service, handles)
  return handles
}

function recordUnbound(
  service: string,
  cls: StatusClass,
  failed: boolean,
  durationMs: number,
  requests: Counter,
  errors: Counter,
  duration: Histogram,
): void {
  requests.inc(1, { service, status_class: cls })
  if (failed) errors.inc(1, { service })
  duration.observe(durationMs / 1_000, { service })
}
