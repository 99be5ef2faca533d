/**
 * A MetricProducer for @opentelemetry/sdk-metrics: a reader given it in `metricProducers`
 * collects our instruments along with the SDK's own, so any OTel exporter (OTLP,
 * Prometheus, console) carries them. Values are cumulative since the client started, as
 * render() shows them; a reader that prefers delta gets them as cumulative, which every
 * exporter carries as is (the data says its own temporality).
 */
import { ValueType, type Attributes } from '@opentelemetry/api'
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics'
import type { MetricFamilySnapshot, Metrics } from '../metrics/types.js'
import { LIBRARY_VERSION } from '../internal/version.js'

/** What the producer reads: a GovernanceClient fits. */
export interface MetricProducerSource {
  readonly metrics: Metrics
  readonly instanceId: string
  readonly serviceName?: string | undefined
}

export interface GovernanceMetricProducer extends MetricProducer {
  /**
   * `service.name` and `service.instance.id` of the client. A reader keeps its
   * MeterProvider's resource for everything it exports, so give these to the provider:
   * `new MeterProvider({ resource: resourceFromAttributes(producer.resourceAttributes), … })`.
   */
  readonly resourceAttributes: Readonly<Record<string, string>>
}

export const SCOPE_NAME = 'governance-client'

/**
 * @example
 * const producer = createMetricProducer(gov)
 * const reader = new PeriodicExportingMetricReader({ exporter, metricProducers: [producer] })
 * new MeterProvider({ resource: resourceFromAttributes(producer.resourceAttributes), readers: [reader] })
 */
export function createMetricProducer(source: MetricProducerSource): GovernanceMetricProducer {
  const resourceAttributes = Object.freeze({ 'service.name': source.serviceName ?? 'unknown-service', 'service.instance.id': source.instanceId })
  const resource: Resource = resourceFromAttributes(resourceAttributes)
  const start = toHrTime(source.metrics.startedAt)
  return {
    resourceAttributes,
    async collect(): Promise<CollectionResult> {
      const end = toHrTime(Date.now())
      const metrics = source.metrics.snapshot().map((family) => toMetricData(family, start, end))
      return { resourceMetrics: { resource, scopeMetrics: [{ scope: { name: SCOPE_NAME, version: LIBRARY_VERSION }, metrics }] }, errors: [] }
    },
  }
}

type HrTime = [number, number]

function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1_000)
  return [seconds, Math.round((ms - seconds * 1_000) * 1e6)]
}

function toMetricData(family: MetricFamilySnapshot, startTime: HrTime, endTime: HrTime): MetricData {
  const descriptor = { name: family.name, description: family.help ?? '', unit: '', valueType: ValueType.DOUBLE }
  if (family.kind === 'histogram') {
    const buckets = family.buckets as number[]
    return {
      descriptor,
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: family.series.map((s) => ({
        startTime,
        endTime,
        attributes: s.labels as Attributes,
        value: { buckets: { boundaries: buckets, counts: s.counts as number[] }, sum: s.sum, count: s.count },
      })),
    }
  }
  const dataPoints = family.series.map((s) => ({ startTime, endTime, attributes: s.labels as Attributes, value: s.value }))
  if (family.kind === 'gauge') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints }
  return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints }
}
