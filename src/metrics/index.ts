/** The metrics subsystem's surface: what the client facade wires in and re-exports. */
export { createMetrics, DROPPED_POINTS_METRIC } from './metrics.js'
export { resolveMetricsOptions, DEFAULT_LATENCY_BUCKETS_MS, DEFAULT_LATENCY_BUCKETS_SECONDS } from './options.js'
export type { MetricsOptions, MetricsRetryOptions, ResolvedMetricsOptions } from './options.js'
export { pushgatewaySink } from './pushgateway.js'
export type { PushgatewaySinkOptions } from './pushgateway.js'
export { createUpstreamRecorder, UPSTREAM_DURATION, UPSTREAM_ERRORS, UPSTREAM_REQUESTS } from './upstream.js'
export type { UpstreamOutcome, UpstreamRecorder } from './upstream.js'
export { PROCESS_METRIC_NAMES } from './process-metrics.js'
export { EXPOSITION_CONTENT_TYPE } from './exposition.js'
export { OVERFLOW_LABEL } from './names.js'
export { UNKNOWN_SERVICE } from './batch.js'
export type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  Counter,
  FlushOptions,
  Gauge,
  Histogram,
  HistogramOptions,
  InstrumentOptions,
  Labels,
  Metrics,
  MetricsContext,
  MetricFamilySnapshot,
  NumberSeriesSnapshot,
  HistogramSeriesSnapshot,
} from './types.js'
