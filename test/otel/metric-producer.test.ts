/**
 * OpenTelemetry out: an sdk-metrics reader given the MetricProducer (and an in-memory
 * exporter) sees our counters, gauges and histograms exactly, with the identity.
 */
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/index.js'
import { createMetricProducer, SCOPE_NAME } from '../../src/otel/index.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

function setup() {
  const gov = new GovernanceClient({
    // Nothing is registered or exported: the server is never called.
    server: 'http://127.0.0.1:9',
    service: { name: 'orders', port: 8080, id: 'orders-7' },
    logger: false,
    metrics: { sinks: [], processMetrics: false },
  })
  cleanups.push(() => gov.close())
  const producer = createMetricProducer(gov)
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, metricProducers: [producer] })
  const provider = new MeterProvider({ resource: resourceFromAttributes(producer.resourceAttributes), readers: [reader] })
  cleanups.push(() => provider.shutdown())
  const collect = async (): Promise<{ metrics: MetricData[]; resource: Record<string, unknown> }> => {
    exporter.reset()
    await provider.forceFlush()
    const [last] = exporter.getMetrics().slice(-1)
    const scope = last!.scopeMetrics.find((s) => s.scope.name === SCOPE_NAME)!
    return { metrics: scope.metrics, resource: last!.resource.attributes }
  }
  return { gov, collect, provider }
}

describe('createMetricProducer (governance-client/otel)', () => {
  it('carries counters, gauges and histograms exactly, with the instance identity', async () => {
    const { gov, collect, provider } = setup()
    const requests = gov.metrics.counter('http_requests_total', { help: 'Requests served.' })
    const depth = gov.metrics.gauge('queue_depth')
    const latency = gov.metrics.histogram('http_request_duration_seconds', { buckets: [0.01, 0.1, 1] })
    requests.inc(3, { route: '/a' })
    requests.inc(2, { route: '/b' })
    depth.set(7)
    for (const v of [0.005, 0.01, 0.05, 0.5, 5, 5]) latency.observe(v, { route: '/a' })
    // The SDK's own instruments still come through the same reader.
    provider.getMeter('app').createCounter('own').add(1)

    const { metrics, resource } = await collect()
    expect(resource).toMatchObject({ 'service.name': 'orders', 'service.instance.id': 'orders-7' })
    const byName = new Map(metrics.map((m) => [m.descriptor.name, m]))
    const counter = byName.get('http_requests_total')!
    expect(counter).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE })
    expect(counter.descriptor.description).toBe('Requests served.')
    expect(counter.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ route: '/a' }, 3],
      [{ route: '/b' }, 2],
    ])
    expect(byName.get('queue_depth')).toMatchObject({ dataPointType: DataPointType.GAUGE, dataPoints: [{ attributes: {}, value: 7 }] })
    const histogram = byName.get('http_request_duration_seconds') as HistogramMetricData
    expect(histogram.dataPointType).toBe(DataPointType.HISTOGRAM)
    expect(histogram.dataPoints).toHaveLength(1)
    const point = histogram.dataPoints[0]!
    expect(point.attributes).toEqual({ route: '/a' })
    expect(point.value.buckets).toEqual({ boundaries: [0.01, 0.1, 1], counts: [2, 1, 1, 2] })
    expect(point.value.count).toBe(6)
    expect(point.value.sum).toBeCloseTo(10.565, 12)

    // Cumulative: a second collection shows the running totals, whatever the batches did.
    requests.inc(4, { route: '/a' })
    const second = await collect()
    const again = second.metrics.find((m) => m.descriptor.name === 'http_requests_total')!
    expect(again.dataPoints.find((p) => p.attributes['route'] === '/a')!.value).toBe(7)
    expect(again.dataPoints[0]!.startTime).toEqual(counter.dataPoints[0]!.startTime)
  })
})
