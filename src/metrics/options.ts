/** Metrics options, their defaults and eager validation (messages name `metrics.<option>`). */
import type { MetricSink } from '../backend.js'
import { bool, delayRange, durationMs, failOption, objectOption, positiveInt } from '../internal/options-kit.js'
import { checkBuckets } from './names.js'

/** Latency buckets in seconds (Prometheus' base unit): 1 ms to 10 s. The default. */
export const DEFAULT_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])

/**
 * The same bounds in milliseconds, for histograms that must keep recording ms.
 * @deprecated the default is now DEFAULT_LATENCY_BUCKETS_SECONDS; record seconds instead.
 */
export const DEFAULT_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000])

export interface MetricsRetryOptions {
  /** Base of the full-jitter backoff between attempts of one batch. Default 1,000. */
  readonly minDelayMs?: number
  /** Ceiling of that backoff. Default 30,000. */
  readonly maxDelayMs?: number
}

export interface MetricsOptions {
  /** false: instruments still record and render(), but nothing is exported and no built-ins run. Default true. */
  readonly enabled?: boolean
  /** How often the reader collects and sends one batch. Default 10,000. */
  readonly flushIntervalMs?: number
  /** Batches waiting for delivery per sink; over it the oldest is dropped. Default 100. */
  readonly maxPendingBatches?: number
  /** Default cap on label sets per instrument. Default 2,000. */
  readonly maxSeriesPerInstrument?: number
  /** Event-loop delay, heap, RSS and CPU. Default true. */
  readonly processMetrics?: boolean
  /** Per-upstream request metrics recorded by gov.fetch and the dispatcher. Default true. */
  readonly upstreamMetrics?: boolean
  /** Histogram buckets when an instrument names none. Default DEFAULT_LATENCY_BUCKETS_SECONDS. */
  readonly defaultBuckets?: readonly number[]
  /** Where batches go. Default: the backend's metrics endpoint, when it has one. */
  readonly sinks?: readonly MetricSink[]
  /** Deadline of one export attempt. Default 10,000. */
  readonly exportTimeoutMs?: number
  readonly retry?: MetricsRetryOptions
}

export interface ResolvedMetricsOptions {
  readonly enabled: boolean
  readonly flushIntervalMs: number
  readonly maxPendingBatches: number
  readonly maxSeriesPerInstrument: number
  readonly processMetrics: boolean
  readonly upstreamMetrics: boolean
  readonly defaultBuckets: readonly number[]
  /** undefined: the facade decides (backend sink or none). */
  readonly sinks: readonly MetricSink[] | undefined
  readonly exportTimeoutMs: number
  readonly retry: { readonly minDelayMs: number; readonly maxDelayMs: number }
}

function sinksOf(value: unknown): readonly MetricSink[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) failOption('metrics.sinks', 'must be an array of metric sinks', value)
  const names = new Set<string>()
  value.forEach((sink: unknown, i) => {
    const s = sink as Partial<MetricSink> | null
    if (typeof s !== 'object' || s === null || typeof s.export !== 'function') failOption(`metrics.sinks[${i}]`, 'must have an export(batch, ctx) method', sink)
    if (typeof s.name !== 'string' || s.name.length === 0) failOption(`metrics.sinks[${i}].name`, 'must be a non-empty string', s.name)
    if (names.has(s.name)) failOption(`metrics.sinks[${i}].name`, 'must be unique among the sinks', s.name)
    names.add(s.name)
  })
  return Object.freeze([...(value as MetricSink[])])
}

const METRICS_KEYS: readonly string[] = [
  'enabled',
  'flushIntervalMs',
  'maxPendingBatches',
  'maxSeriesPerInstrument',
  'processMetrics',
  'upstreamMetrics',
  'defaultBuckets',
  'sinks',
  'exportTimeoutMs',
  'retry',
]

export function resolveMetricsOptions(options: MetricsOptions | undefined): ResolvedMetricsOptions {
  // Only undefined means "defaults": a null or a misspelt option is reported, not ignored.
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    failOption('metrics', 'must be an object (or false to turn metrics off)', options)
  }
  const o = objectOption('metrics', options, METRICS_KEYS)
  return {
    enabled: bool('metrics.enabled', o.enabled, true),
    flushIntervalMs: durationMs('metrics.flushIntervalMs', o.flushIntervalMs, { default: 10_000 }),
    maxPendingBatches: positiveInt('metrics.maxPendingBatches', o.maxPendingBatches, { default: 100 }),
    maxSeriesPerInstrument: positiveInt('metrics.maxSeriesPerInstrument', o.maxSeriesPerInstrument, { default: 2_000 }),
    processMetrics: bool('metrics.processMetrics', o.processMetrics, true),
    upstreamMetrics: bool('metrics.upstreamMetrics', o.upstreamMetrics, true),
    defaultBuckets: o.defaultBuckets === undefined ? DEFAULT_LATENCY_BUCKETS_SECONDS : checkBuckets('metrics.defaultBuckets', o.defaultBuckets),
    sinks: sinksOf(o.sinks),
    exportTimeoutMs: durationMs('metrics.exportTimeoutMs', o.exportTimeoutMs, { default: 10_000 }),
    retry: delayRange('metrics.retry', o.retry, { minDelayMs: 1_000, maxDelayMs: 30_000 }),
  }
}
