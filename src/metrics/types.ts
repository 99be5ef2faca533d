/** The metrics subsystem's public shapes: what `gov.metrics` hands to application code. */
import type { EmitFn } from '../events.js'
import type { MetricSink } from '../backend.js'
import type { Logger } from '../internal/logger.js'
import type { Clock } from '../internal/timers.js'
import type { Transport, TransportOptions } from '../transport/types.js'
import type { Labels } from './series-store.js'

export type { Labels }

/** A monotonically increasing count. Negative, NaN and infinite increments are dropped (logged once). */
export interface Counter {
  readonly name: string
  /** Adds `value` (default 1). Never throws; bad input is logged once and dropped. */
  inc(value?: number, labels?: Labels): void
  /** Same as inc, for OpenTelemetry habits. */
  add(value: number, labels?: Labels): void
  /** A handle on one label set's cell: the cheapest way to record. Throws on bad labels. */
  bind(labels?: Labels): BoundCounter
}

export interface BoundCounter {
  inc(value?: number): void
  add(value: number): void
}

/** A value that goes up and down; the last one set is reported. */
export interface Gauge {
  readonly name: string
  set(value: number, labels?: Labels): void
  inc(value?: number, labels?: Labels): void
  dec(value?: number, labels?: Labels): void
  bind(labels?: Labels): BoundGauge
}

export interface BoundGauge {
  set(value: number): void
  inc(value?: number): void
  dec(value?: number): void
}

/** Observations counted into fixed buckets, with their count and sum. */
export interface Histogram {
  readonly name: string
  readonly buckets: readonly number[]
  observe(value: number, labels?: Labels): void
  bind(labels?: Labels): BoundHistogram
}

export interface BoundHistogram {
  observe(value: number): void
}

export interface InstrumentOptions {
  /** Shown as `# HELP` and sent with the points (at most 1,024 characters). */
  readonly help?: string
  /** Cap on distinct label sets; default `metrics.maxSeriesPerInstrument` (2,000). */
  readonly maxSeries?: number
}

export interface HistogramOptions extends InstrumentOptions {
  /** Ascending finite upper bounds (at most 64); +Inf is implicit. Default `metrics.defaultBuckets`. */
  readonly buckets?: readonly number[]
}

/** One series of a counter or gauge in a snapshot: the running total, or the gauge's value. */
export interface NumberSeriesSnapshot {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** One histogram series in a snapshot: per-bucket counts (not cumulative; the last is +Inf). */
export interface HistogramSeriesSnapshot {
  readonly labels: Readonly<Record<string, string>>
  readonly counts: readonly number[]
  readonly sum: number
  readonly count: number
}

/** Everything one instrument holds, cumulative since the client started (what render() shows). */
export type MetricFamilySnapshot =
  | { readonly name: string; readonly kind: 'counter' | 'gauge'; readonly help: string | undefined; readonly series: readonly NumberSeriesSnapshot[] }
  | {
      readonly name: string
      readonly kind: 'histogram'
      readonly help: string | undefined
      readonly buckets: readonly number[]
      readonly series: readonly HistogramSeriesSnapshot[]
    }

export interface FlushOptions {
  readonly signal?: AbortSignal
}

export interface Metrics {
  counter(name: string, options?: InstrumentOptions): Counter
  gauge(name: string, options?: InstrumentOptions): Gauge
  histogram(name: string, options?: HistogramOptions): Histogram
  /**
   * Collects now and tries to deliver every pending batch to every sink once. Resolves
   * when all were delivered; rejects with the first failure (the batches stay queued
   * and the background retries go on).
   */
  flush(options?: FlushOptions): Promise<void>
  /** The Prometheus text exposition format (version 0.0.4) of every instrument, cumulative. */
  render(): string
  /**
   * The same values as render(), as data: for bridges such as the OpenTelemetry
   * MetricProducer of `governance-client/otel`. Reading does not end the export window.
   */
  snapshot(): MetricFamilySnapshot[]
  /** When recording started (ms since the epoch): the start time of every cumulative series. */
  readonly startedAt: number
  /** Final collection and delivery attempt, stops the timer, closes the sinks. Idempotent. */
  close(): Promise<void>
}

/** What the client facade hands the metrics subsystem. */
export interface MetricsContext {
  readonly emit: EmitFn
  readonly logger: Logger
  readonly clock: Clock
  /** Pending batches are mirrored under `<dataDir>/metrics/` when set. */
  readonly dataDir?: string
  /** The service the batches are attributed to; "unknown-service" when undefined. */
  readonly service: string | undefined
  readonly instanceId: string
  /** Resolved: the user's sinks, or [backend.createMetricSink()], or []. */
  readonly sinks: readonly MetricSink[]
  /** Unused for now: the Pushgateway sink posts text, which the JSON transport cannot send. */
  readonly createTransport?: (options: TransportOptions) => Transport
}
