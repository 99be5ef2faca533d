/**
 * OTLP in: the official OpenTelemetry exporters (OTLP/HTTP JSON and protobuf) push to the
 * reference server's /otlp/v1/metrics, and GET /v1/metrics/{service} reads back exactly
 * what was recorded, with cumulative and delta temporality.
 */
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { gzipSync } from 'node:zlib'
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { onCleanup, startServer } from './helpers.js'

type Temporality = 'cumulative' | 'delta'
const EXPORTERS = {
  json: (url: string, t: Temporality) => new JsonExporter({ url, temporalityPreference: preference(t) }),
  protobuf: (url: string, t: Temporality) => new ProtoExporter({ url, temporalityPreference: preference(t) }),
  'json+gzip': (url: string, t: Temporality) => new JsonExporter({ url, temporalityPreference: preference(t), compression: CompressionAlgorithm.GZIP }),
  'protobuf+gzip': (url: string, t: Temporality) => new ProtoExporter({ url, temporalityPreference: preference(t), compression: CompressionAlgorithm.GZIP }),
} as const

function preference(t: Temporality): AggregationTemporalityPreference {
  return t === 'delta' ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE
}

const CASES = [
  ...(['json', 'protobuf'] as const).flatMap((format) => (['cumulative', 'delta'] as const).map((t) => [format, t] as const)),
  ['json+gzip', 'cumulative'] as const,
  ['protobuf+gzip', 'delta'] as const,
]

async function meterFor(exporter: PushMetricExporter, service: string, instance: string) {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.instance.id': instance }),
    readers: [reader],
  })
  onCleanup(() => provider.shutdown())
  return { meter: provider.getMeter('otlp-test'), flush: () => provider.forceFlush() }
}

describe('POST /otlp/v1/metrics with the official OTLP exporters', () => {
  it.each(CASES)('%s, %s temporality: counters exact, histogram count/sum/buckets exact, gauges last', async (format, temporality) => {
    const server = await startServer()
    const service = `otlp-${format.replace('+', '-')}-${temporality}`
    const { meter, flush } = await meterFor(EXPORTERS[format](`${server.url}/otlp/v1/metrics`, temporality), service, 'pod-1')
    const requests = meter.createCounter('http.server.requests', { description: 'Requests served.' })
    const latency = meter.createHistogram('http.server.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.01, 0.1, 1] } })
    const queue = meter.createGauge('queue.depth')
    requests.add(3, { 'http.route': '/a' })
    requests.add(4, { 'http.route': '/b' })
    latency.record(0.005)
    latency.record(0.05)
    queue.record(9)
    await flush()
    // A second export: cumulative points must be turned into deltas, not added twice.
    requests.add(5, { 'http.route': '/a' })
    latency.record(0.5)
    latency.record(2)
    queue.record(4)
    await flush()

    const res = await fetch(`${server.url}/v1/metrics/${service}`)
    expect(res.status).toBe(200)
    const view = (await res.json()) as { instances: Record<string, { points: any[] }> }
    expect(Object.keys(view.instances)).toEqual(['pod-1'])
    const points = view.instances['pod-1']!.points
    const find = (name: string, labels: Record<string, string> = {}) => points.find((p) => p.name === name && JSON.stringify(p.labels) === JSON.stringify(labels))
    expect(find('http_server_requests_total', { http_route: '/a' })).toMatchObject({ kind: 'counter', value: 8, help: 'Requests served.' })
    expect(find('http_server_requests_total', { http_route: '/b' })).toMatchObject({ kind: 'counter', value: 4 })
    expect(find('queue_depth')).toMatchObject({ kind: 'gauge', value: 4 })
    const h = find('http_server_duration')
    expect(h).toMatchObject({ kind: 'histogram', buckets: [0.01, 0.1, 1], counts: [1, 1, 1, 1], count: 4 })
    expect(h.sum).toBeCloseTo(2.555, 12)
  })

  it('answers malformed OTLP with 400 and the error JSON, and stores nothing', async () => {
    const server = await startServer()
    const post = (body: string | Uint8Array, type: string) => fetch(`${server.url}/otlp/v1/metrics`, { method: 'POST', body, headers: { 'content-type': type } })
    for (const [body, type] of [
      [new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x7f, 0x01]), 'application/x-protobuf'], // a length past the end
      [new Uint8Array([0x0f]), 'application/x-protobuf'], // wire type 7
      ['{"resourceMetrics": 3}', 'application/json'],
      ['{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "sum": {"dataPoints": []}}]}]}]}', 'application/json'],
      ['not json', 'application/json'],
    ] as const) {
      const res = await post(body, type)
      expect(res.status, String(body)).toBe(400)
      expect(await res.json()).toMatchObject({ error: { code: 'bad_request', message: expect.any(String) } })
    }
    expect((await post('{}', 'text/plain')).status).toBe(415)
    const gzipped = (body: Uint8Array, encoding = 'gzip') =>
      fetch(`${server.url}/otlp/v1/metrics`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } })
    expect((await gzipped(new Uint8Array([0x1f, 0x8b, 1, 2, 3]))).status).toBe(400)
    expect((await gzipped(gzipSync('{}'), 'br')).status).toBe(415)
    // A small body that inflates past the cap (a gzip bomb) is refused, not inflated.
    const bomb = await gzipped(gzipSync(Buffer.alloc(17 * 1024 * 1024, 0x20)))
    expect(bomb.status).toBe(413)
    expect(await bomb.json()).toMatchObject({ error: { code: 'payload_too_large' } })
    expect((await fetch(`${server.url}/v1/metrics/unknown-service`)).status).toBe(404)
  })

  it('reports points it cannot hold as a partial success, and keeps the rest', async () => {
    const server = await startServer()
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'unknown_service:node' } }] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }] } },
                { name: 'summary', summary: { dataPoints: [{}, {}] } },
                { name: 'bad_total', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asDouble: -1 }] } },
              ],
            },
          ],
        },
      ],
    }
    const res = await fetch(`${server.url}/otlp/v1/metrics`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ partialSuccess: { rejectedDataPoints: '3', errorMessage: expect.stringContaining('summary') } })
    const view = (await (await fetch(`${server.url}/v1/metrics/unknown_service-node`)).json()) as any
    expect(view.instances['unknown-instance'].points).toEqual([{ name: 'ok', kind: 'gauge', labels: {}, value: 1 }])
  })
})
