/**
 * OpenTelemetry both ways (issue 14), same run:
 * - the MetricProducer's collect of 10,000 series against OTel's own instruments holding
 *   the same series, both through one sdk-metrics reader's collect();
 * - the reference server's OTLP ingest (JSON and protobuf, bodies made by the official
 *   serializers) against its own batch format, in points per second, one request of 1,000
 *   points at a time over one keep-alive connection (client and server share this machine).
 */
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { Pool } from 'undici'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMetrics } from '../../src/metrics/index.js'
import { createMetricProducer } from '../../src/otel/index.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { compare, printComparison, type BenchSuite, type ComparisonResult } from '../lib.js'

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const SERIES = 10_000
const labelsOf = (i: number) => ({ route: `/r${i % 100}`, status: String(200 + Math.floor(i / 100)) })

async function collectTime(): Promise<ComparisonResult> {
  // Half counters, half histograms (default buckets), in both libraries.
  const metrics = createMetrics({ processMetrics: false, upstreamMetrics: false, maxSeriesPerInstrument: SERIES }, { emit: () => undefined, logger: silentLogger, clock: systemClock, service: 'bench', instanceId: 'bench-1', sinks: [] })
  const counter = metrics.counter('requests_total')
  const histogram = metrics.histogram('duration_seconds')
  // A reader must belong to a MeterProvider; this one has no instruments of its own.
  const producerReader = new ManualReader({ metricProducers: [createMetricProducer({ metrics, instanceId: 'bench-1' })] })
  const oursProvider = new MeterProvider({ readers: [producerReader] })
  const otelReader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  const otelProvider = new MeterProvider({ readers: [otelReader] })
  const meter = otelProvider.getMeter('bench')
  const otelCounter = meter.createCounter('requests_total')
  const otelHistogram = meter.createHistogram('duration_seconds')
  for (let i = 0; i < SERIES / 2; i++) {
    counter.inc(1, labelsOf(i))
    histogram.observe(0.01 * (i % 50), labelsOf(i))
    otelCounter.add(1, labelsOf(i))
    otelHistogram.record(0.01 * (i % 50), labelsOf(i))
  }
  const result = await compare(
    `collect of ${SERIES.toLocaleString('en-US')} series through an sdk-metrics reader`,
    [
      { name: 'governance-client MetricProducer', run: async (n) => { for (let i = 0; i < n; i++) await producerReader.collect() } },
      { name: 'OTel instruments', run: async (n) => { for (let i = 0; i < n; i++) await otelReader.collect() } },
    ],
    { iterations: 5, rounds: 7, warmupIterations: 2 },
  )
  await Promise.all([oursProvider.shutdown(), otelProvider.shutdown()])
  return result
}

const POINTS = 1_000

/** The same 1,000 counter points as OTLP (from a real SDK collection) and as our batch. */
async function bodies(): Promise<{ otlpJson: Uint8Array; otlpProto: Uint8Array; batch: (id: number) => string }> {
  const reader = new ManualReader()
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'bench', 'service.instance.id': 'bench-1' }), readers: [reader] })
  const c = provider.getMeter('bench').createCounter('requests_total')
  for (let i = 0; i < POINTS; i++) c.add(1, labelsOf(i))
  const { resourceMetrics } = await reader.collect()
  await provider.shutdown()
  const points = Array.from({ length: POINTS }, (_, i) => ({ name: 'requests_total', kind: 'counter', labels: labelsOf(i), value: 1 }))
  const prefix = JSON.stringify({ service: 'bench', instance: 'bench-2', timestamp: Date.now(), points }).slice(1)
  return {
    otlpJson: JsonMetricsSerializer.serializeRequest(resourceMetrics as ResourceMetrics)!,
    otlpProto: ProtobufMetricsSerializer.serializeRequest(resourceMetrics as ResourceMetrics)!,
    // A fresh batchId per request: a repeated one would be skipped as a duplicate.
    batch: (id) => `{"batchId":"bench-${id}",${prefix}`,
  }
}

async function ingest(): Promise<ComparisonResult> {
  const server = await createGovernanceServer({ port: 0, host: '127.0.0.1', logger: silentLogger } as never)
  const pool = new Pool(server.url, { connections: 1 })
  const { otlpJson, otlpProto, batch } = await bodies()
  let sequence = 0
  const post = async (path: string, body: string | Uint8Array, type: string, expected: number): Promise<void> => {
    const res = await pool.request({ method: 'POST', path, body, headers: { 'content-type': type } })
    await res.body.dump()
    if (res.statusCode !== expected) throw new Error(`${path} answered ${res.statusCode}`)
  }
  const run = (send: () => Promise<void>) => async (n: number) => {
    for (let i = 0; i < n; i++) await send()
  }
  try {
    const result = await compare(
      `server ingest, ${POINTS.toLocaleString('en-US')} counter points per request`,
      [
        { name: 'POST /v1/metrics (own batch JSON)', run: run(() => post('/v1/metrics', batch(++sequence), 'application/json', 202)) },
        { name: 'POST /otlp/v1/metrics (OTLP JSON)', run: run(() => post('/otlp/v1/metrics', otlpJson, 'application/json', 200)) },
        { name: 'POST /otlp/v1/metrics (OTLP protobuf)', run: run(() => post('/otlp/v1/metrics', otlpProto, 'application/x-protobuf', 200)) },
      ],
      { iterations: 40, rounds: 7, warmupIterations: 10 },
    )
    const perSecond = result.cases.map((c) => `${c.name}: ${Math.round(c.opsPerSec * POINTS).toLocaleString('en-US')} points/s`)
    return { ...result, notes: [...perSecond, `bodies: own batch ${batch(0).length} B, OTLP JSON ${otlpJson.length} B, OTLP protobuf ${otlpProto.length} B`] }
  } finally {
    await pool.close()
    await server.close()
  }
}

const suite: BenchSuite = async () => {
  const results = [await collectTime(), await ingest()]
  for (const r of results) printComparison(r)
  return results
}

export default suite
