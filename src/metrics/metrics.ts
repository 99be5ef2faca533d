/**
 * The Metrics object: instruments, and the reader that owns the export loop. Every
 * `flushIntervalMs` (one unref'd timer) it ends the window, builds the batch once and
 * hands it to each sink's queue; the queues deliver, retry and drop on their own.
 */
import { ClientClosedError } from '../errors.js'
import type { EmitFn } from '../events.js'
import { checkCallOptions } from '../internal/call-options.js'
import { unrefTimeout } from '../internal/timers.js'
import { BatchBuilder } from './batch.js'
import type { CounterImpl } from './instruments.js'
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './options.js'
import { installProcessMetrics } from './process-metrics.js'
import { InstrumentRegistry } from './registry.js'
import { SinkQueue } from './sink-queue.js'
import { SpillStore } from './spill.js'
import type { BoundCounter, MetricFamilySnapshot, Counter, FlushOptions, Gauge, Histogram, HistogramOptions, InstrumentOptions, Metrics, MetricsContext } from './types.js'

export const DROPPED_POINTS_METRIC = 'governance_metrics_dropped_points_total'

export class MetricsImpl implements Metrics {
  /** Read by createUpstreamRecorder. */
  readonly upstreamMetricsEnabled: boolean
  readonly startedAt = Date.now()
  private readonly registry: InstrumentRegistry
  private readonly queues: SinkQueue[]
  private readonly builder: BatchBuilder
  private timer: NodeJS.Timeout | undefined
  private stopProcessMetrics: (() => void) | undefined
  private closing: Promise<void> | undefined

  constructor(
    private readonly options: ResolvedMetricsOptions,
    private readonly ctx: MetricsContext,
  ) {
    this.upstreamMetricsEnabled = options.enabled && options.upstreamMetrics
    this.registry = new InstrumentRegistry({
      maxSeriesPerInstrument: options.maxSeriesPerInstrument,
      defaultBuckets: options.defaultBuckets,
      logger: ctx.logger,
    })
    this.builder = new BatchBuilder({ service: ctx.service, instanceId: ctx.instanceId, clock: ctx.clock })
    this.queues = options.enabled ? this.createQueues() : []
    if (options.enabled && options.processMetrics) this.stopProcessMetrics = installProcessMetrics(this.registry)
    if (this.queues.length > 0) this.schedule()
  }

  counter(name: string, options?: InstrumentOptions): Counter {
    return this.registry.counter(name, options)
  }

  gauge(name: string, options?: InstrumentOptions): Gauge {
    return this.registry.gauge(name, options)
  }

  histogram(name: string, options?: HistogramOptions): Histogram {
    return this.registry.histogram(name, options)
  }

  render(): string {
    return this.registry.render()
  }

  snapshot(): MetricFamilySnapshot[] {
    return this.registry.snapshot()
  }

  async flush(raw?: FlushOptions): Promise<void> {
    const options = checkCallOptions('metrics.flush()', raw, ['signal']) as FlushOptions
    if (this.closing !== undefined) throw new ClientClosedError('metrics: flush() after close()')
    const signal = options.signal
    signal?.throwIfAborted()
    this.collect()
    const work = Promise.all(this.queues.map((q) => q.flush()))
    if (signal === undefined) return void (await work)
    work.catch(() => undefined)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      work.then(
        () => resolve(),
        (error: unknown) => reject(error),
      ).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    this.collect()
    this.stopProcessMetrics?.()
    await Promise.all(this.queues.map((q) => q.close()))
  }

  private createQueues(): SinkQueue[] {
    const { ctx, options } = this
    if (ctx.sinks.length === 0) return []
    const dropped: CounterImpl = this.registry.counter(DROPPED_POINTS_METRIC, {
      help: 'Metric points dropped before delivery (queue full, rejected by the sink, or unsent at close).',
    })
    return ctx.sinks.map((sink) => {
      // Bound on the first drop, so that a healthy sink adds no series to any batch.
      let counter: BoundCounter | undefined
      return new SinkQueue({
        sink,
        maxPending: options.maxPendingBatches,
        exportTimeoutMs: options.exportTimeoutMs,
        retry: options.retry,
        emit: ctx.emit,
        logger: ctx.logger,
        spill: ctx.dataDir === undefined ? undefined : SpillStore.forSink(ctx.dataDir, sink.name, ctx.logger),
        onDropped: (points) => (counter ??= dropped.bind({ sink: sink.name })).inc(points),
      })
    })
  }

  /** One timer, re-armed after each tick: collections never overlap and close() stops it. */
  private schedule(): void {
    this.timer = unrefTimeout(() => {
      this.collect()
      if (this.closing === undefined) this.schedule()
    }, this.options.flushIntervalMs)
  }

  /** Ends the window and queues its batch; nothing is built when there is no sink. */
  private collect(): void {
    if (this.queues.length === 0) return
    try {
      const batches = this.builder.build(this.registry.collect())
      for (const batch of batches) for (const queue of this.queues) queue.enqueue(batch)
    } catch (error) {
      // Collection is our own code over validated data; a failure here is a bug, but it must
      // not take the timer down with it.
      this.ctx.logger.error('metrics: collection failed', { error })
    }
  }
}

export function createMetrics(options: MetricsOptions | undefined, ctx: MetricsContext): Metrics {
  return new MetricsImpl(resolveMetricsOptions(options), ctx)
}
