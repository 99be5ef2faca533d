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

/**
 * A message's known fields: wire type and reader, which fills `out`. The tables are built
 * once at load (no closures per message: a request holds thousands of small messages).
 * PACKED64 takes a packed or an unpacked repeated 64-bit field.
 */
type Handlers = Readonly<Record<number, readonly [wire: number, read: (r: Reader, out: Json, wire: number) => void]>>
const PACKED64 = -1

/** Reads a message's fields into `out`: known ones through their handler, unknown ones skipped. */
function fields(r: Reader, what: string, handlers: Handlers, out: Json): Json {
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
    read(r, out, wire)
  }
  return out
}

/** Packed (or, as parsers must also accept, unpacked) repeated 64-bit values. */
function repeated64(r: Reader, wire: number, into: unknown[], read: (r: Reader) => unknown): void {
  if (wire === FIXED64) return void into.push(read(r))
  const packed = r.sub()
  while (!packed.done) into.push(read(packed))
}

const list = (out: Json, key: string): unknown[] => (out[key] ??= []) as unknown[]

/** Scalars only: arrays, maps and bytes as attribute values are kept as their absence. */
const ANY_VALUE: Handlers = {
  1: [LENGTH, (m, o) => (o['stringValue'] = m.string())],
  2: [VARINT, (m, o) => (o['boolValue'] = m.small() !== 0)],
  3: [VARINT, (m, o) => (o['intValue'] = BigInt.asIntN(64, m.varint()).toString())],
  4: [FIXED64, (m, o) => (o['doubleValue'] = m.double())],
}

const KEY_VALUE: Handlers = {
  1: [LENGTH, (m, o) => (o['key'] = m.string())],
  2: [LENGTH, (m, o) => (o['value'] = fields(m.sub(), 'AnyValue', ANY_VALUE, {}))],
}

const keyValue = (m: Reader): Json => fields(m.sub(), 'KeyValue', KEY_VALUE, { key: '', value: {} })

/** start_time_unix_nano (2) and time_unix_nano (3), the same in both point kinds. */
const TIMES: Handlers = {
  2: [FIXED64, (m, o) => (o['startTimeUnixNano'] = m.fixed64().toString())],
  3: [FIXED64, (m, o) => (o['timeUnixNano'] = m.fixed64().toString())],
}

const NUMBER_POINT: Handlers = {
  ...TIMES,
  4: [FIXED64, (m, o) => (o['asDouble'] = m.double())],
  6: [FIXED64, (m, o) => (o['asInt'] = BigInt.asIntN(64, m.fixed64()).toString())],
  7: [LENGTH, (m, o) => list(o, 'attributes').push(keyValue(m))],
}

const HISTOGRAM_POINT: Handlers = {
  ...TIMES,
  4: [FIXED64, (m, o) => (o['count'] = m.fixed64().toString())],
  5: [FIXED64, (m, o) => (o['sum'] = m.double())],
  6: [PACKED64, (m, o, wire) => repeated64(m, wire, list(o, 'bucketCounts'), (p) => p.fixed64().toString())],
  7: [PACKED64, (m, o, wire) => repeated64(m, wire, list(o, 'explicitBounds'), (p) => p.double())],
  9: [LENGTH, (m, o) => list(o, 'attributes').push(keyValue(m))],
}

const point = (what: string, handlers: Handlers) => (m: Reader, o: Json) => list(o, 'dataPoints').push(fields(m.sub(), what, handlers, {}))
const temporality = [VARINT, (m: Reader, o: Json) => (o['aggregationTemporality'] = m.small())] as const

/** Gauge, Sum and Histogram share their layout: points = 1, temporality = 2, monotonic = 3 (Sum). */
const GAUGE: Handlers = { 1: [LENGTH, point('NumberDataPoint', NUMBER_POINT)] }
const SUM: Handlers = { ...GAUGE, 2: temporality, 3: [VARINT, (m, o) => (o['isMonotonic'] = m.small() !== 0)] }
const HISTOGRAM: Handlers = { 1: [LENGTH, point('HistogramDataPoint', HISTOGRAM_POINT)], 2: temporality }
/** Kinds the server does not store: only their points are counted (the mapping rejects them). */
const UNSUPPORTED: Handlers = { 1: [LENGTH, (m, o) => list(o, 'dataPoints').push({ bytes: m.sub().end })] }

const data = (what: string, handlers: Handlers) => (m: Reader, o: Json) => (o[what] = fields(m.sub(), what, handlers, { dataPoints: [] }))

const METRIC: Handlers = {
  1: [LENGTH, (m, o) => (o['name'] = m.string())],
  2: [LENGTH, (m, o) => (o['description'] = m.string())],
  3: [LENGTH, (m, o) => (o['unit'] = m.string())],
  5: [LENGTH, data('gauge', GAUGE)],
  7: [LENGTH, data('sum', SUM)],
  9: [LENGTH, data('histogram', HISTOGRAM)],
  10: [LENGTH, data('exponentialHistogram', UNSUPPORTED)],
  11: [LENGTH, data('summary', UNSUPPORTED)],
}

const SCOPE_METRICS: Handlers = { 2: [LENGTH, (m, o) => list(o, 'metrics').push(fields(m.sub(), 'Metric', METRIC, {}))] }
const RESOURCE: Handlers = { 1: [LENGTH, (m, o) => list(o, 'attributes').push(keyValue(m))] }

const RESOURCE_METRICS: Handlers = {
  1: [LENGTH, (m, o) => (o['resource'] = fields(m.sub(), 'Resource', RESOURCE, { attributes: [] }))],
  2: [LENGTH, (m, o) => list(o, 'scopeMetrics').push(fields(m.sub(), 'ScopeMetrics', SCOPE_METRICS, { metrics: [] }))],
}

const REQUEST: Handlers = {
  1: [LENGTH, (m, o) => list(o, 'resourceMetrics').push(fields(m.sub(), 'ResourceMetrics', RESOURCE_METRICS, { resource: { attributes: [] }, scopeMetrics: [] }))],
}

export function decodeExportRequest(bytes: Uint8Array): Json {
  const r = new Reader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength)
  return fields(r, 'ExportMetricsServiceRequest', REQUEST, { resourceMetrics: [] })
}
