/**
 * A protobuf wire-format reader for OTLP metrics (opentelemetry-proto,
 * collector/metrics/v1/metrics_service.proto), just the messages and fields the server
 * maps. It yields the OTLP/JSON shape (camelCase names, 64-bit integers as decimal
 * strings), so JSON and protobuf requests share one mapping. Unknown fields are skipped,
 * as protobuf requires; anything that breaks the wire format throws OtlpFormatError.
 *
 * Hand-written rather than a protobuf library: the server must not load optional
 * packages at run time, and about thirty fields do not justify a runtime dependency.
 */

export class OtlpFormatError extends Error {}

type Json = Record<string, unknown>

const VARINT = 0
const FIXED64 = 1
const LENGTH = 2
const FIXED32 = 5

class Reader {
  pos: number
  constructor(
    private readonly view: DataView,
    start: number,
    readonly end: number,
  ) {
    this.pos = start
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  varint(): bigint {
    let result = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new OtlpFormatError('truncated varint')
      const byte = this.view.getUint8(this.pos++)
      result |= BigInt(byte & 0x7f) << shift
      if (byte < 0x80) return BigInt.asUintN(64, result)
    }
    throw new OtlpFormatError('varint longer than 10 bytes')
  }

  /** A varint known to be small (tags, lengths, enums, bools). */
  small(): number {
    const value = this.varint()
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new OtlpFormatError('length or tag out of range')
    return Number(value)
  }

  fixed64(): bigint {
    this.need(8)
    const value = this.view.getBigUint64(this.pos, true)
    this.pos += 8
    return value
  }

  double(): number {
    this.need(8)
    const value = this.view.getFloat64(this.pos, true)
    this.pos += 8
    return value
  }

  /** A sub-reader over the next length-delimited field. */
  sub(): Reader {
    const length = this.small()
    this.need(length)
    const reader = new Reader(this.view, this.pos, this.pos + length)
    this.pos += length
    return reader
  }

  string(): string {
    const r = this.sub()
    try {
      return utf8.decode(new Uint8Array(this.view.buffer, this.view.byteOffset + r.pos, r.end - r.pos))
    } catch {
      throw new OtlpFormatError('a string field is not valid UTF-8')
    }
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint()
    else if (wire === FIXED64) this.need(8), (this.pos += 8)
    else if (wire === LENGTH) this.sub()
    else if (wire === FIXED32) this.need(4), (this.pos += 4)
    else throw new OtlpFormatError(`unsupported wire type ${wire}`)
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new OtlpFormatError('truncated message')
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A field's expected wire type and its reader; PACKED64 takes a packed or an unpacked 64-bit field. */
type Handlers = Readonly<Record<number, readonly [wire: number, read: (r: Reader, wire: number) => void]>>
const PACKED64 = -1

/** Walks a message's fields: known ones go to their handler, unknown ones are skipped. */
function fields(r: Reader, what: string, handlers: Handlers): void {
  while (!r.done) {
    const tag = r.small()
    const field = tag >>> 3
    const wire = tag & 7
    if (field === 0) throw new OtlpFormatError(`${what}: field number 0`)
    const handler = handlers[field]
    if (handler === undefined) {
      r.skip(wire)
      continue
    }
    const [expected, read] = handler
    const fits = expected === PACKED64 ? wire === FIXED64 || wire === LENGTH : wire === expected
    if (!fits) throw new OtlpFormatError(`${what}: field ${field} has wire type ${wire}`)
    read(r, wire)
  }
}

/** Packed (or, as parsers must also accept, unpacked) repeated 64-bit values. */
function repeated64(r: Reader, wire: number, into: unknown[], read: (r: Reader) => unknown): void {
  if (wire === FIXED64) return void into.push(read(r))
  const packed = r.sub()
  while (!packed.done) into.push(read(packed))
}

export function decodeExportRequest(bytes: Uint8Array): Json {
  const r = new Reader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength)
  const resourceMetrics: Json[] = []
  fields(r, 'ExportMetricsServiceRequest', { 1: [LENGTH, (m) => resourceMetrics.push(resourceMetricsOf(m.sub()))] })
  return { resourceMetrics }
}

function resourceMetricsOf(r: Reader): Json {
  const scopeMetrics: Json[] = []
  const out: Json = { resource: { attributes: [] }, scopeMetrics }
  fields(r, 'ResourceMetrics', {
    1: [LENGTH, (m) => (out['resource'] = { attributes: attributesOf(m.sub(), 'Resource', 1) })],
    2: [LENGTH, (m) => scopeMetrics.push(scopeMetricsOf(m.sub()))],
  })
  return out
}

function scopeMetricsOf(r: Reader): Json {
  const metrics: Json[] = []
  fields(r, 'ScopeMetrics', { 2: [LENGTH, (m) => metrics.push(metricOf(m.sub()))] })
  return { metrics }
}

function metricOf(r: Reader): Json {
  const out: Json = {}
  // Kinds the server does not store: only their points are counted (the mapping rejects them).
  const unsupported = (kind: string) => (m: Reader) => {
    const dataPoints: Json[] = []
    fields(m.sub(), kind, { 1: [LENGTH, (p) => dataPoints.push({ bytes: p.sub().end })] })
    out[kind] = { dataPoints }
  }
  fields(r, 'Metric', {
    1: [LENGTH, (m) => (out['name'] = m.string())],
    2: [LENGTH, (m) => (out['description'] = m.string())],
    3: [LENGTH, (m) => (out['unit'] = m.string())],
    5: [LENGTH, (m) => (out['gauge'] = dataOf(m.sub(), 'gauge'))],
    7: [LENGTH, (m) => (out['sum'] = dataOf(m.sub(), 'sum'))],
    9: [LENGTH, (m) => (out['histogram'] = dataOf(m.sub(), 'histogram'))],
    10: [LENGTH, unsupported('exponentialHistogram')],
    11: [LENGTH, unsupported('summary')],
  })
  return out
}

/** Gauge, Sum and Histogram share their layout: points = 1, temporality = 2, monotonic = 3 (Sum). */
function dataOf(r: Reader, kind: 'gauge' | 'sum' | 'histogram'): Json {
  const dataPoints: Json[] = []
  const out: Json = { dataPoints }
  const handlers: Record<number, Handlers[number]> = {
    1: [LENGTH, (m) => dataPoints.push(kind === 'histogram' ? histogramPointOf(m.sub()) : numberPointOf(m.sub()))],
  }
  if (kind !== 'gauge') handlers[2] = [VARINT, (m) => (out['aggregationTemporality'] = m.small())]
  if (kind === 'sum') handlers[3] = [VARINT, (m) => (out['isMonotonic'] = m.small() !== 0)]
  fields(r, kind, handlers)
  return out
}

/** start_time_unix_nano (2) and time_unix_nano (3), the same in both point kinds. */
function times(out: Json): Handlers {
  return {
    2: [FIXED64, (m) => (out['startTimeUnixNano'] = m.fixed64().toString())],
    3: [FIXED64, (m) => (out['timeUnixNano'] = m.fixed64().toString())],
  }
}

function numberPointOf(r: Reader): Json {
  const attributes: Json[] = []
  const out: Json = { attributes }
  fields(r, 'NumberDataPoint', {
    ...times(out),
    4: [FIXED64, (m) => (out['asDouble'] = m.double())],
    6: [FIXED64, (m) => (out['asInt'] = BigInt.asIntN(64, m.fixed64()).toString())],
    7: [LENGTH, (m) => attributes.push(keyValueOf(m.sub()))],
  })
  return out
}

function histogramPointOf(r: Reader): Json {
  const attributes: Json[] = []
  const bucketCounts: unknown[] = []
  const explicitBounds: unknown[] = []
  const out: Json = { attributes, bucketCounts, explicitBounds }
  fields(r, 'HistogramDataPoint', {
    ...times(out),
    4: [FIXED64, (m) => (out['count'] = m.fixed64().toString())],
    5: [FIXED64, (m) => (out['sum'] = m.double())],
    6: [PACKED64, (m, wire) => repeated64(m, wire, bucketCounts, (p) => p.fixed64().toString())],
    7: [PACKED64, (m, wire) => repeated64(m, wire, explicitBounds, (p) => p.double())],
    9: [LENGTH, (m) => attributes.push(keyValueOf(m.sub()))],
  })
  return out
}

function attributesOf(r: Reader, what: string, field: number): Json[] {
  const attributes: Json[] = []
  fields(r, what, { [field]: [LENGTH, (m: Reader) => attributes.push(keyValueOf(m.sub()))] })
  return attributes
}

function keyValueOf(r: Reader): Json {
  const out: Json = { key: '', value: {} }
  fields(r, 'KeyValue', {
    1: [LENGTH, (m) => (out['key'] = m.string())],
    2: [LENGTH, (m) => (out['value'] = anyValueOf(m.sub()))],
  })
  return out
}

/** Scalars only: arrays, maps and bytes as attribute values are kept as their absence. */
function anyValueOf(r: Reader): Json {
  const out: Json = {}
  fields(r, 'AnyValue', {
    1: [LENGTH, (m) => (out['stringValue'] = m.string())],
    2: [VARINT, (m) => (out['boolValue'] = m.small() !== 0)],
    3: [VARINT, (m) => (out['intValue'] = BigInt.asIntN(64, m.varint()).toString())],
    4: [FIXED64, (m) => (out['doubleValue'] = m.double())],
  })
  return out
}
