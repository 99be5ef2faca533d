/**
 * Instances as Consul services. Consul has no fields for our instance id, status, zone or
 * fractional weight, so they travel in `Meta` under reserved `gc-` keys; user metadata
 * shares the map and must follow Consul's Meta rules (keys of letters, digits, `_` and
 * `-`, at most 128 characters; values at most 512; 64 pairs in all).
 */
import { InvalidArgumentError, ProtocolError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import { INSTANCE_STATUSES, type Instance, type InstanceSpec, type InstanceStatus } from '../../types.js'

const META_KEY = /^[a-zA-Z0-9_-]{1,128}$/
const MAX_META_VALUE = 512
const MAX_META_PAIRS = 64
const OWN = { id: 'gc-id', status: 'gc-status', zone: 'gc-zone', weight: 'gc-weight' } as const

/** The Consul service ID of an instance: unique per agent, where ids are only unique per service. */
export function consulServiceId(service: string, instanceId: string): string {
  return `${service}-${instanceId}`
}

/** The id of the TTL check embedded in the registration (agent/agent.go's naming). */
export function ttlCheckId(serviceId: string): string {
  return `service:${serviceId}`
}

export function goDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`
}

function checkMeta(metadata: Readonly<Record<string, string>>): void {
  const keys = Object.keys(metadata)
  if (keys.length + 4 > MAX_META_PAIRS) throw new InvalidArgumentError(`Consul allows ${MAX_META_PAIRS} Meta pairs, 4 of them this backend's: metadata has ${keys.length} keys`)
  for (const key of keys) {
    if (!META_KEY.test(key) || key.startsWith('consul-') || key.startsWith('gc-')) {
      throw new InvalidArgumentError(`metadata key ${describeValue(key)} is not a valid Consul Meta key (letters, digits, "_" and "-", at most 128; "consul-" and "gc-" are reserved)`, { details: { option: `metadata.${key}` } })
    }
    if ((metadata[key] as string).length > MAX_META_VALUE) {
      throw new InvalidArgumentError(`metadata ${describeValue(key)} is longer than Consul's ${MAX_META_VALUE} characters`, { details: { option: `metadata.${key}` } })
    }
  }
}

/** The body of PUT /v1/agent/service/register. */
export function encodeRegistration(spec: InstanceSpec, deregisterAfterMs: number): Record<string, unknown> {
  checkMeta(spec.metadata)
  const id = consulServiceId(spec.service, spec.id)
  const meta: Record<string, string> = { ...spec.metadata, [OWN.id]: spec.id, [OWN.status]: spec.status, [OWN.weight]: String(spec.weight) }
  if (spec.zone !== undefined) meta[OWN.zone] = spec.zone
  return {
    ID: id,
    Name: spec.service,
    Tags: [...spec.tags],
    Address: spec.address,
    Port: spec.port,
    Meta: meta,
    // Consul's weights are integers >= 1; the exact one is in Meta.
    Weights: { Passing: Math.max(1, Math.round(spec.weight)), Warning: 1 },
    Check: {
      CheckID: ttlCheckId(id),
      Name: 'governance-client heartbeat',
      TTL: goDuration(spec.ttlMs),
      DeregisterCriticalServiceAfter: goDuration(deregisterAfterMs),
      // Without a Status the agent starts the check critical (agent/agent.go).
      Status: 'passing',
    },
  }
}

function bad(service: string, field: string, value: unknown): ProtocolError {
  return new ProtocolError(`consul: /v1/health/service/${service} answered an entry with a malformed ${field}: ${describeValue(value)}`, {
    details: { service, field },
  })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * One entry of GET /v1/health/service/:name. Services registered by other clients have no
 * `gc-` keys: their id is the Consul service ID, status UP, weight Weights.Passing.
 */
export function decodeHealthEntry(service: string, entry: unknown): Instance {
  if (!isObject(entry) || !isObject(entry.Service)) throw bad(service, 'entry', entry)
  const s = entry.Service
  const node = isObject(entry.Node) ? entry.Node : {}
  if (typeof s.ID !== 'string' || s.ID === '') throw bad(service, 'Service.ID', s.ID)
  const rawMeta = s.Meta ?? {}
  if (!isObject(rawMeta)) throw bad(service, 'Service.Meta', rawMeta)
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(rawMeta)) if (!k.startsWith('gc-')) metadata[k] = String(v)
  // An empty Address means "the node's address" (api-docs/agent/service.mdx).
  const address = typeof s.Address === 'string' && s.Address !== '' ? s.Address : node.Address
  if (typeof address !== 'string' || address === '') throw bad(service, 'Service.Address', s.Address)
  if (typeof s.Port !== 'number' || !Number.isInteger(s.Port) || s.Port < 0 || s.Port > 65535) throw bad(service, 'Service.Port', s.Port)
  const tags = s.Tags ?? []
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw bad(service, 'Service.Tags', s.Tags)
  const status = rawMeta[OWN.status] ?? 'UP'
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) throw bad(service, `Meta.${OWN.status}`, status)
  const passingWeight = isObject(s.Weights) && typeof s.Weights.Passing === 'number' ? s.Weights.Passing : 1
  const weight = rawMeta[OWN.weight] === undefined ? passingWeight : Number(rawMeta[OWN.weight])
  if (!Number.isFinite(weight) || weight < 0) throw bad(service, `Meta.${OWN.weight}`, rawMeta[OWN.weight])
  const zone = rawMeta[OWN.zone]
  return {
    id: typeof rawMeta[OWN.id] === 'string' && rawMeta[OWN.id] !== '' ? (rawMeta[OWN.id] as string) : s.ID,
    service,
    address,
    port: s.Port,
    status: status as InstanceStatus,
    metadata,
    tags: tags as string[],
    weight,
    ...(typeof zone === 'string' ? { zone } : {}),
  }
}

/** Config values are stored as JSON text; a value another tool wrote that is not JSON reads as a string. */
export function decodeKvValue(base64: unknown): unknown {
  if (base64 === null || base64 === undefined) return ''
  const text = Buffer.from(String(base64), 'base64').toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
