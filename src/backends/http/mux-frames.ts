/** Decodes the frames of `POST /v1/watch` (protocol section 4.1); anything else is a ProtocolError. */
import { ProtocolError } from '../../errors.js'
import type { Instance } from '../../types.js'
import * as decode from './decode.js'

export interface OpenFrame {
  readonly type: 'open'
  readonly index: string
  readonly keepAliveMs: number
}
export interface KeepAliveFrame {
  readonly type: 'keepalive'
  readonly index: string
}
export interface ClosingFrame {
  readonly type: 'closing'
}
export type ServiceFrame = {
  readonly type: 'service'
  readonly service: string
  readonly index: string
  readonly reset: boolean
} & (
  | { readonly full: true; readonly instances: readonly Instance[] }
  | { readonly full: false; readonly from: string; readonly upsert: readonly Instance[]; readonly remove: readonly string[] }
)
export interface ConfigFrame {
  readonly type: 'config'
  readonly key: string
  readonly index: string
  readonly reset: boolean
  readonly entry: { readonly value: unknown; readonly version: string } | null
}
/** A frame type this client does not know: ignored, so servers can add some. */
export interface UnknownFrame {
  readonly type: 'unknown'
}
export type MuxFrame = OpenFrame | KeepAliveFrame | ClosingFrame | ServiceFrame | ConfigFrame | UnknownFrame

const UNKNOWN: UnknownFrame = { type: 'unknown' }

function fail(source: string, what: string, got: unknown): never {
  const shown = JSON.stringify(got)?.slice(0, 60) ?? String(got)
  throw new ProtocolError(`${source}: watch frame ${what}, got ${shown}`, { details: { source } })
}

function text(source: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail(source, `field "${field}" must be a non-empty string`, value)
  return value
}

function instances(source: string, field: string, service: string, value: unknown): Instance[] {
  if (!Array.isArray(value)) fail(source, `field "${field}" must be an array`, value)
  return value.map((v: unknown, i) => {
    const instance = decode.instance(source, `${field}[${i}]`, v)
    if (instance.service !== service) fail(source, `${field}[${i}].service must be ${JSON.stringify(service)}`, instance.service)
    return instance
  })
}

function serviceFrame(source: string, o: Record<string, unknown>): ServiceFrame {
  const service = text(source, 'service', o.service)
  const head = { type: 'service' as const, service, index: decode.index(source, 'index', o.index), reset: o.reset === true }
  if (o.full === true) return { ...head, full: true, instances: instances(source, 'instances', service, o.instances) }
  if (!Array.isArray(o.remove)) fail(source, 'field "remove" must be an array', o.remove)
  const remove = o.remove.map((id: unknown) => text(source, 'remove[]', id))
  return { ...head, full: false, from: decode.index(source, 'from', o.from), upsert: instances(source, 'upsert', service, o.upsert), remove }
}

function configFrame(source: string, o: Record<string, unknown>): ConfigFrame {
  const head = { type: 'config' as const, key: text(source, 'key', o.key), index: decode.index(source, 'index', o.index), reset: o.reset === true }
  if (o.entry === null) return { ...head, entry: null }
  const entry = decode.object(source, 'entry', o.entry)
  if (!('value' in entry)) fail(source, 'field "entry.value" must be present', undefined)
  return { ...head, entry: { value: entry.value, version: decode.index(source, 'entry.version', entry.version) } }
}

export function decodeFrame(source: string, value: unknown): MuxFrame {
  const o = decode.object(source, 'frame', value)
  switch (o.type) {
    case 'service':
      return serviceFrame(source, o)
    case 'config':
      return configFrame(source, o)
    case 'keepalive':
      return { type: 'keepalive', index: decode.index(source, 'index', o.index) }
    case 'open': {
      const keepAliveMs = o.keepAliveMs
      if (typeof keepAliveMs !== 'number' || !Number.isInteger(keepAliveMs) || keepAliveMs <= 0) fail(source, 'field "keepAliveMs" must be a positive integer', keepAliveMs)
      return { type: 'open', index: decode.index(source, 'index', o.index), keepAliveMs }
    }
    case 'closing':
      return { type: 'closing' }
    default:
      if (typeof o.type !== 'string') fail(source, 'needs a string "type"', o.type)
      return UNKNOWN
  }
}
