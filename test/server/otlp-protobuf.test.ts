/**
 * The hand-written OTLP protobuf reader against the official serializers' bytes: the same
 * SDK collection, serialised as protobuf and as JSON, maps to the same points; damaged
 * bytes only ever give OtlpFormatError.
 */
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { OtlpMapper } from '../../src/server/otlp-mapping.js'
import { OtlpFormatError, decodeExportRequest } from '../../src/server/otlp-protobuf.js'

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function collection(temporality: AggregationTemporality): Promise<ResourceMetrics> {
  const reader = new ManualReader({ aggregationTemporalitySelector: () => temporality })
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'pb', 'service.instance.id': 'pb-1', 'host.cores': 2 }),
    readers: [reader],
    views: [{ instrumentName: 'eh', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  })
  const meter = provider.getMeter('t')
  meter.createCounter('c').add(5, { k: 'v', n: 3, b: true, d: 1.5 })
  meter.createUpDownCounter('ud').add(-2)
  meter.createGauge('g').record(-7.25, { 'a.b': 'x' })
  const h = meter.createHistogram('h', { advice: { explicitBucketBoundaries: [1, 10] } })
  // Not stored by the server: both encodings must count its point as rejected.
  meter.createHistogram('eh').record(3)
  for (const v of [0.5, 5, 50, 500]) h.record(v)
  const { resourceMetrics } = await reader.collect()
  await provider.shutdown()
  return resourceMetrics
}

describe('decodeExportRequest', () => {
  it.each([
    ['cumulative', AggregationTemporality.CUMULATIVE],
    ['delta', AggregationTemporality.DELTA],
  ])('maps the official protobuf bytes exactly as the official JSON (%s)', async (_name, temporality) => {
    const rm = await collection(temporality)
    const proto = ProtobufMetricsSerializer.serializeRequest(rm)!
    const json = JSON.parse(new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(rm)!)) as unknown
    const fromProto = new OtlpMapper().map(decodeExportRequest(proto))
    const fromJson = new OtlpMapper().map(json)
    expect(fromProto).toEqual(fromJson)
    const [resource] = fromProto.resources
    expect(resource).toMatchObject({ service: 'pb', instance: 'pb-1' })
    const byName = Object.fromEntries(resource!.points.map((p) => [p.name, p]))
    expect(byName['c_total']).toMatchObject({ kind: 'counter', value: 5, labels: { b: 'true', d: '1.5', k: 'v', n: '3' } })
    expect(byName['g']).toMatchObject({ kind: 'gauge', value: -7.25, labels: { a_b: 'x' } })
    expect(byName['h']).toMatchObject({ kind: 'histogram', buckets: [1, 10], counts: [1, 1, 2], sum: 555.5, count: 4 })
    // A delta up-down sum has no value to store; cumulative, it is a gauge.
    // The exponential histogram is not stored (1 point); a delta up-down sum has no value to
    // store (1 more), while cumulative it is a gauge.
    if (temporality === AggregationTemporality.DELTA) expect(fromProto.rejected).toBe(2)
    else {
      expect(fromProto.rejected).toBe(1)
      expect(byName['ud']).toMatchObject({ kind: 'gauge', value: -2 })
    }
  })

  it('skips unknown fields and accepts unpacked repeated fields', () => {
    // HistogramDataPoint with bucket_counts (6) and explicit_bounds (7) unpacked, plus an unknown varint field 99.
    const f64 = (n: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(n); return b }
    const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b }
    const field = (no: number, wire: number, body: Buffer) => Buffer.concat([varint((no << 3) | wire), wire === 2 ? varint(body.length) : Buffer.alloc(0), body])
    const point = Buffer.concat([field(4, 1, u64(3)), field(5, 1, f64(2.5)), field(6, 1, u64(1)), field(6, 1, u64(2)), field(7, 1, f64(1)), field(99, 0, varint(7))])
    const histogram = Buffer.concat([field(1, 2, point), field(2, 0, varint(1))])
    const metric = Buffer.concat([field(1, 2, Buffer.from('h')), field(9, 2, histogram), field(42, 2, Buffer.from('ignored'))])
    const request = field(1, 2, field(2, 2, field(2, 2, metric)))
    const mapped = new OtlpMapper().map(decodeExportRequest(request))
    expect(mapped.resources[0]!.points).toEqual([{ name: 'h', kind: 'histogram', labels: {}, buckets: [1], counts: [1, 2], sum: 2.5, count: 3 }])
  })

  it('gives OtlpFormatError, never another error, for every truncation and byte flip', async () => {
    const bytes = ProtobufMetricsSerializer.serializeRequest(await collection(AggregationTemporality.CUMULATIVE))!
    let failures = 0
    const attempt = (data: Uint8Array) => {
      try {
        decodeExportRequest(data)
      } catch (error) {
        failures++
        expect(error).toBeInstanceOf(OtlpFormatError)
      }
    }
    for (let end = 0; end < bytes.length; end++) attempt(bytes.subarray(0, end))
    for (let i = 0; i < bytes.length; i++) {
      const copy = Uint8Array.from(bytes)
      copy[i] = copy[i]! ^ 0xff
      attempt(copy)
    }
    expect(failures).toBeGreaterThan(bytes.length / 2)
  })
})

function varint(value: number): Buffer {
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return Buffer.from(out)
}
