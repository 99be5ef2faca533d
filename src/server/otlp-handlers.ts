/**
 * `POST /otlp/v1/metrics`: OTLP/HTTP metrics, protobuf or JSON, from any OpenTelemetry SDK.
 * Points go through MetricsStore.push, the path POST /v1/metrics takes, so whatever that
 * path enforces and records applies to them too. Answers follow OTLP/HTTP: 200 with an
 * ExportMetricsServiceResponse in the request's encoding (partialSuccess when points were
 * rejected); a malformed request gets 400 with the protocol's error JSON.
 */
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import type { MetricBatch } from '../types.js'
import type { ServerState } from './handler.js'
import type { Handler } from './protocol/request.js'
import { HttpError, badRequest } from './http-error.js'
import { parseJson } from './protocol/json-body.js'
import { MAX_POINTS } from './metrics-validation.js'
import { OtlpMapper, type OtlpMapped } from './otlp-mapping.js'
import { OtlpFormatError, decodeExportRequest } from './otlp-protobuf.js'
import type { Answer } from './protocol/answer.js'

const PROTOBUF = 'application/x-protobuf'
const JSON_TYPE = 'application/json'
const gunzipAsync = promisify(gunzip)

export function otlpHandlers(state: ServerState): Record<'metrics', Handler> {
  const mapper = new OtlpMapper()
  return {
    metrics: async ({ request, body }) => {
      const type = (request.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
      if (type !== PROTOBUF && type !== JSON_TYPE) {
        throw new HttpError(415, 'unsupported_media_type', `OTLP content type must be ${PROTOBUF} or ${JSON_TYPE}`, { close: true })
      }
      const bytes = await inflate(request.header('content-encoding'), body as Buffer)
      const mapped = mapper.map(decode(type, bytes))
      for (const batch of toBatches(mapped)) state.metrics.push(batch)
      return exportResponse(type, mapped)
    },
  }
}

/** What a gzip body may inflate to: the cap that stops a small body from becoming a huge one. */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024

/** OTLP exporters send gzip when configured to (OTEL_EXPORTER_OTLP_COMPRESSION=gzip). */
async function inflate(encoding: string | undefined, body: Buffer): Promise<Buffer> {
  if (encoding === undefined || encoding === 'identity') return body
  if (encoding !== 'gzip') {
    throw new HttpError(415, 'unsupported_media_type', `content-encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported (gzip or none)`)
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: MAX_INFLATED_BYTES })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, 'payload_too_large', `the gzip body inflates past ${MAX_INFLATED_BYTES} bytes`)
    }
    throw badRequest('the gzip body is corrupt')
  }
}

function decode(type: string, body: Buffer): unknown {
  if (type === JSON_TYPE) return parseJson(body) ?? {}
  try {
    return decodeExportRequest(body)
  } catch (error) {
    if (error instanceof OtlpFormatError) throw badRequest(`the OTLP protobuf body is malformed: ${error.message}`)
    throw error
  }
}

/** One batch per resource (and per MAX_POINTS points), each with a fresh id: OTLP has none. */
function toBatches(mapped: OtlpMapped): MetricBatch[] {
  const batches: MetricBatch[] = []
  const timestamp = Date.now()
  for (const { service, instance, points } of mapped.resources) {
    for (let i = 0; i < points.length; i += MAX_POINTS) {
      batches.push({ batchId: `otlp-${randomUUID()}`, service, instance, timestamp, points: points.slice(i, i + MAX_POINTS) })
    }
  }
  return batches
}

function exportResponse(type: string, mapped: OtlpMapped): Answer {
  const message = mapped.problems.join('; ')
  if (type === JSON_TYPE) {
    const body = mapped.rejected === 0 ? {} : { partialSuccess: { rejectedDataPoints: String(mapped.rejected), errorMessage: message } }
    return { status: 200, text: JSON.stringify(body) }
  }
  return { status: 200, text: mapped.rejected === 0 ? Buffer.alloc(0) : encodePartialSuccess(mapped.rejected, message), contentType: PROTOBUF }
}

/** ExportMetricsServiceResponse { partial_success (1) { rejected_data_points (1), error_message (2) } }. */
function encodePartialSuccess(rejected: number, message: string): Buffer {
  const text = Buffer.from(message.slice(0, 1_000), 'utf8')
  const inner = Buffer.concat([Buffer.from([0x08]), varint(rejected), Buffer.from([0x12]), varint(text.length), text])
  return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner])
}

function varint(value: number): Buffer {
  const bytes: number[] = []
  let v = value
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  bytes.push(v)
  return Buffer.from(bytes)
}
