/**
 * The "service info" the registry center stores by name: what a service posts, returned
 * as given. Ours carries the whole instance; other writers may post only
 * `{name, address, port}`, so everything else has a default. Since the center cannot
 * delete, a deregistration overwrites the record with a tombstone (`deregistered: true`).
 */
import { ProtocolError } from '../../errors.js'
import { INSTANCE_STATUSES, type Instance, type InstanceSpec, type InstanceStatus } from '../../types.js'
import { preview } from './center.js'

/** The id the seed's protocol implies for a record without one: one instance per name. */
export function seedInstanceId(name: string, address: string, port: number): string {
  return `${name}@${address}:${port}`
}

export function encodeServiceInfo(spec: InstanceSpec): Record<string, unknown> {
  const info: Record<string, unknown> = {
    name: spec.service,
    address: spec.address,
    port: spec.port,
    metadata: spec.metadata,
    id: spec.id,
    status: spec.status,
    tags: spec.tags,
    weight: spec.weight,
  }
  if (spec.zone !== undefined) info.zone = spec.zone
  return info
}

export function tombstone(info: Record<string, unknown>): Record<string, unknown> {
  return { ...info, status: 'DOWN', deregistered: true }
}

function bad(service: string, field: string, value: unknown): ProtocolError {
  return new ProtocolError(`seed registry center: the record of "${service}" has a malformed ${field}: ${preview(value)}`, {
    details: { center: 'registry', service, field },
  })
}

/** Python services often post the port as a string; an integer string is accepted too. */
function readPort(service: string, value: unknown): number {
  const port = typeof value === 'string' && /^[0-9]{1,5}$/.test(value) ? Number(value) : value
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad(service, 'port', value)
  return port
}

function readMetadata(service: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(service, 'metadata', value)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    // Flask stores whatever JSON was posted: scalars are kept as text, nested values as JSON.
    out[k] = typeof v === 'string' ? v : JSON.stringify(v)
  }
  return out
}

/** The instance in a `/query` answer, or undefined for `{"success": false}` or a tombstone. */
export function decodeServiceInfo(service: string, body: unknown): Instance | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(service, 'answer', body)
  const info = body as Record<string, unknown>
  if (info.success === false && info.name === undefined) return undefined
  if (info.deregistered === true) return undefined
  if (info.name !== service) throw bad(service, 'name', info.name)
  if (typeof info.address !== 'string' || info.address === '') throw bad(service, 'address', info.address)
  const port = readPort(service, info.port)
  const status = info.status ?? 'UP'
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) throw bad(service, 'status', status)
  const tags = info.tags ?? []
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw bad(service, 'tags', info.tags)
  const weight = info.weight ?? 1
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw bad(service, 'weight', info.weight)
  const id = typeof info.id === 'string' && info.id !== '' ? info.id : seedInstanceId(service, info.address, port)
  return {
    id,
    service,
    address: info.address,
    port,
    status: status as InstanceStatus,
    metadata: readMetadata(service, info.metadata),
    tags: tags as string[],
    weight,
    ...(typeof info.zone === 'string' ? { zone: info.zone } : {}),
  }
}
