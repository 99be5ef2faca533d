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

/** Walks a message's fields; `on` returns false for a field it does not read (skipped). */
function fields(r: Reader, on: (field: number, wire: number) => boolean): void {
  while (!r.done) {
    const tag = r.small()
    const field = tag >>> 3
    const wire = tag & 7
    if (field === 0) throw new OtlpFormatError('field number 0')
    if (!on(field, wire)) r.skip(wire)
  }
}

function expect(wire: number, wanted: number, what: string): void {
  if (wire !== wanted) throw new OtlpFormatError(`${what} has wire type ${wire}, not ${wanted}`)
}

/** Packed (or, as parsers must also accept, unpacked) repeated 64-bit fields. */
function repeated64(r: Reader, wire: number, into: unknown[], read: (r: Reader) => unknown): void {
  if (wire === FIXED64) return void into.push(read(r))
  expect(wire, LENGTH, 'a repeated 64-bit field')
  const packed = r.sub()
  while (!packed.done) into.push(read(packed))
}

export function decodeExportRequest(bytes: Uint8Array): Json {
  const r = new Reader(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength)
  const resourceMetrics: Json[] = []
  fields(r, (field, wire) => field === 1 && (expect(wire, LENGTH, 'resourceMetrics'), resourceMetrics.push(resourceMetricsOf(r.sub())), true))
  return { resourceMetrics }
}

function resourceMetricsOf(r: Reader): Json {
  const out: Json = { resource: { attributes: [] }, scopeMetrics: [] }
  fields(r, (field, wire) => {
    if (field === 1) return expect(wire, LENGTH, 'resource'), (out['resource'] = resourceOf(r.sub())), true
    if (field === 2) return expect(wire, LENGTH, 'scopeMetrics'), (out['scopeMetrics'] as Json[]).push(scopeMetricsOf(r.sub())), true
    return false
  })
  return out
}

function resourceOf(r: Reader): Json {
  const attributes: Json[] = []
  fields(r, (field, wire) => field === 1 && (expect(wire, LENGTH, 'attributes'), attributes.push(keyValueOf(r.sub())), true))
  return { attributes }
}

function scopeMetricsOf(r: Reader): Json {
  const metrics: Json[] = []
  fields(r, (field, wire) => field === 2 && (expect(wire, LENGTH, 'metrics'), metrics.push(metricOf(r.sub())), true))
  return { metrics }
}

const DATA_FIELDS: Readonly<Record<number, string>> = { 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponentialHistogram', 11: 'summary' }

function metricOf(r: Reader): Json {
  const out: Json = {}
  fields(r, (field, wire) => {
    if (field === 1 || field === 2 || field === 3) {
      expect(wire, LENGTH, 'a metric string')
      out[field === 1 ? 'name' : field === 2 ? 'description' : 'unit'] = r.string()
      return true
    }
    const kind = DATA_FIELDS[field]
    if (kind === undefined) return false
    expect(wire, LENGTH, kind)
    out[kind] = kind === 'gauge' || kind === 'sum' || kind === 'histogram' ? dataOf(r.sub(), kind) : (r.sub(), {})
    return true
  })
  return out
}

/** Gauge, Sum and Histogram share their layout: points = 1, temporality = 2, monotonic = 3 (Sum). */
function dataOf(r: Reader, kind: 'gauge' | 'sum' | 'histogram'): Json {
  const dataPoints: Json[] = []
  const out: Json = { dataPoints }
  fields(r, (field, wire) => {
    if (field === 1) {
      expect(wire, LENGTH, 'dataPoints')
      dataPoints.push(kind === 'histogram' ? histogramPointOf(r.sub()) : numberPointOf(r.sub()))
      return true
    }
    if (field === 2 && kind !== 'gauge') return expect(wire, VARINT, 'aggregationTemporality'), (out['aggregationTemporality'] = r.small()), true
    if (field === 3 && kind === 'sum') return expect(wire, VARINT, 'isMonotonic'), (out['isMonotonic'] = r.small() !== 0), true
    return false
  })
  return out
}

function numberPointOf(r: Reader): Json {
  const attributes: Json[] = []
  const out: Json = { attributes }
  fields(r, (field, wire) => {
    if (field === 7) return expect(wire, LENGTH, 'attributes'), attributes.push(keyValueOf(r.sub())), true
    if (field === 2 || field === 3) return readTime(r, field, wire, out)
    if (field === 4) return expect(wire, FIXED64, 'asDouble'), (out['asDouble'] = r.double()), true
    if (field === 6) return expect(wire, FIXED64, 'asInt'), (out['asInt'] = BigInt.asIntN(64, r.fixed64()).toString()), true
    return false
  })
  return out
}

function histogramPointOf(r: Reader): Json {
  const attributes: Json[] = []
  const bucketCounts: unknown[] = []
  const explicitBounds: unknown[] = []
  const out: Json = { attributes, bucketCounts, explicitBounds }
  fields(r, (field, wire) => {
    if (field === 9) return expect(wire, LENGTH, 'attributes'), attributes.push(keyValueOf(r.sub())), true
    if (field === 2 || field === 3) return readTime(r, field, wire, out)
    if (field === 4) return expect(wire, FIXED64, 'count'), (out['count'] = r.fixed64().toString()), true
    if (field === 5) return expect(wire, FIXED64, 'sum'), (out['sum'] = r.double()), true
    if (field === 6) return repeated64(r, wire, bucketCounts, (p) => p.fixed64().toString()), true
    if (field === 7) return repeated64(r, wire, explicitBounds, (p) => p.double()), true
    return false
  })
  return out
}

/** start_time_unix_nano (2) and time_unix_nano (3), the same in both point kinds. */
function readTime(r: Reader, field: number, wire: number, out: Json): true {
  expect(wire, FIXED64, 'a time')
  out[field === 2 ? 'startTimeUnixNano' : 'timeUnixNano'] = r.fixed64().toString()
  return true
}

function keyValueOf(r: Reader): Json {
  const out: Json = { key: '', value: {} }
  fields(r, (field, wire) => {
    if (field === 1) return expect(wire, LENGTH, 'key'), (out['key'] = r.string()), true
    if (field === 2) return expect(wire, LENGTH, 'value'), (out['value'] = anyValueOf(r.sub())), true
    return false
  })
  return out
}

/** Scalars only: arrays, maps and bytes as attribute values are kept as their absence. */
function anyValueOf(r: Reader): Json {
  const out: Json = {}
  fields(r, (field, wire) => {
    if (field === 1) return expect(wire, LENGTH, 'stringValue'), (out['stringValue'] = r.string()), true
    if (field === 2) return expect(wire, VARINT, 'boolValue'), (out['boolValue'] = r.small() !== 0), true
    if (field === 3) return expect(wire, VARINT, 'intValue'), (out['intValue'] = BigInt.asIntN(64, r.varint()).toString()), true
    if (field === 4) return expect(wire, FIXED64, 'doubleValue'), (out['doubleValue'] = r.double()), true
    return false
  })
  return out
}
