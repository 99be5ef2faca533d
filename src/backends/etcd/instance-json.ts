/**
 * The JSON stored under an instance key. It holds the whole Instance, so that discovery
 * needs nothing but the range; the key itself names the service and the instance id,
 * and those win over the stored fields should a writer disagree.
 */
import { INSTANCE_STATUSES, type Instance, type InstanceSpec, type InstanceStatus } from '../../types.js'

export function encodeInstance(spec: InstanceSpec, now: number): string {
  const stored: Record<string, unknown> = {
    id: spec.id,
    service: spec.service,
    address: spec.address,
    port: spec.port,
    status: spec.status,
    metadata: spec.metadata,
    tags: spec.tags,
    weight: spec.weight,
    ttlMs: spec.ttlMs,
    registeredAt: now,
  }
  if (spec.zone !== undefined) stored.zone = spec.zone
  return JSON.stringify(stored)
}

/** The instance stored at a key, or the reason it is unreadable (written by someone else). */
export function decodeInstance(text: string, service: string, id: string): Instance | string {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return 'value is not JSON'
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'value is not a JSON object'
  const v = raw as Record<string, unknown>
  if (typeof v.address !== 'string' || v.address === '') return 'address is not a non-empty string'
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) return 'port is not 1-65535'
  const status = v.status === undefined ? 'UP' : v.status
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) return `status ${JSON.stringify(status)} is unknown`
  const metadata = stringRecord(v.metadata)
  if (metadata === undefined) return 'metadata is not an object of strings'
  const tags = v.tags === undefined ? [] : v.tags
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return 'tags is not an array of strings'
  const weight = v.weight === undefined ? 1 : v.weight
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) return 'weight is not a non-negative number'
  if (v.zone !== undefined && typeof v.zone !== 'string') return 'zone is not a string'
  return {
    id,
    service,
    address: v.address,
    port: v.port,
    status: status as InstanceStatus,
    metadata,
    tags: tags as string[],
    weight,
    ...(typeof v.zone === 'string' ? { zone: v.zone } : {}),
  }
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') return undefined
    out[k] = v
  }
  return out
}
