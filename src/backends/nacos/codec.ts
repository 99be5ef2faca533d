/**
 * Instances as Nacos ephemeral instances. Nacos identifies an instance by ip:port:cluster;
 * our id, status, tags and zone travel in its metadata under `gc-` keys, and the TTL as
 * Nacos's own per-instance timeouts (`preserved.heart.beat.*`, `preserved.ip.delete.timeout`).
 */
import { ProtocolError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Instance, InstanceSpec, InstanceStatus } from '../../types.js'

const OWN = { id: 'gc-id', status: 'gc-status', tags: 'gc-tags', zone: 'gc-zone' } as const
const BEAT_INTERVAL = 'preserved.heart.beat.interval'
const BEAT_TIMEOUT = 'preserved.heart.beat.timeout'
const DELETE_TIMEOUT = 'preserved.ip.delete.timeout'
const HIDDEN = new Set<string>([BEAT_INTERVAL, BEAT_TIMEOUT, DELETE_TIMEOUT])

export interface Slot {
  readonly ip: string
  readonly port: number
}

/** The lease id: the instance's Nacos identity within this backend's group and cluster. */
export function slotId(slot: Slot): string {
  return `${slot.ip}:${slot.port}`
}

export function parseSlotId(id: string): Slot {
  const i = id.lastIndexOf(':')
  return { ip: id.slice(0, i), port: Number(id.slice(i + 1)) }
}

export function encodeMetadata(spec: InstanceSpec): Record<string, string> {
  const meta: Record<string, string> = {
    ...spec.metadata,
    [OWN.id]: spec.id,
    [OWN.status]: spec.status,
    [OWN.tags]: JSON.stringify(spec.tags),
    // Beats every third of the TTL; unhealthy after the TTL; gone after twice that.
    [BEAT_INTERVAL]: String(Math.max(100, Math.floor(spec.ttlMs / 3))),
    [BEAT_TIMEOUT]: String(spec.ttlMs),
    [DELETE_TIMEOUT]: String(spec.ttlMs * 2),
  }
  if (spec.zone !== undefined) meta[OWN.zone] = spec.zone
  return meta
}

function bad(service: string, field: string, value: unknown): ProtocolError {
  return new ProtocolError(`nacos: an instance of ${service} has a malformed ${field}: ${describeValue(value)}`, { details: { service, field } })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function readTags(service: string, raw: unknown): string[] {
  if (raw === undefined) return []
  try {
    const tags = JSON.parse(String(raw)) as unknown
    if (Array.isArray(tags) && tags.every((t) => typeof t === 'string')) return tags
  } catch {
    // fall through
  }
  throw bad(service, `metadata.${OWN.tags}`, raw)
}

/** One host of a ServiceInfo. Instances of other clients read as id `ip:port`, status from enabled/healthy. */
export function decodeHost(service: string, raw: unknown): Instance {
  if (!isObject(raw)) throw bad(service, 'host', raw)
  if (typeof raw.ip !== 'string' || raw.ip === '') throw bad(service, 'ip', raw.ip)
  if (typeof raw.port !== 'number' || !Number.isInteger(raw.port) || raw.port < 0 || raw.port > 65535) throw bad(service, 'port', raw.port)
  const meta = raw.metadata ?? {}
  if (!isObject(meta)) throw bad(service, 'metadata', meta)
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith('gc-') && !HIDDEN.has(k)) metadata[k] = String(v)
  const weight = raw.weight ?? 1
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw bad(service, 'weight', raw.weight)
  const fallback: InstanceStatus = raw.enabled === false || raw.healthy === false ? 'DOWN' : 'UP'
  const own = meta[OWN.status]
  const status: InstanceStatus = own === 'UP' || own === 'DOWN' || own === 'STARTING' || own === 'OUT_OF_SERVICE' ? (raw.healthy === false ? 'DOWN' : own) : fallback
  const zone = meta[OWN.zone]
  return {
    id: typeof meta[OWN.id] === 'string' && meta[OWN.id] !== '' ? (meta[OWN.id] as string) : `${raw.ip}:${raw.port}`,
    service,
    address: raw.ip,
    port: raw.port,
    status,
    metadata,
    tags: readTags(service, meta[OWN.tags]),
    weight,
    ...(typeof zone === 'string' ? { zone } : {}),
  }
}
