/**
 * Instances as Eureka InstanceInfo JSON (EurekaJacksonCodec). Eureka has no fields for
 * tags, weight or our zone, so they travel in `metadata` under `gc-` keys; an instance
 * another client registered reads with no tags, weight 1 and the Spring `zone` metadata.
 */
import { ProtocolError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Instance, InstanceSpec, InstanceStatus } from '../../types.js'

const OWN = { tags: 'gc-tags', weight: 'gc-weight', zone: 'gc-zone' } as const

/** Eureka upper-cases application names in paths and answers. */
export function appName(service: string): string {
  return service.toUpperCase()
}

export function encodeInstance(spec: InstanceSpec, lastDirty: number): Record<string, unknown> {
  const durationInSecs = Math.max(1, Math.ceil(spec.ttlMs / 1000))
  const metadata: Record<string, string> = { ...spec.metadata, [OWN.tags]: JSON.stringify(spec.tags), [OWN.weight]: String(spec.weight) }
  if (spec.zone !== undefined) metadata[OWN.zone] = spec.zone
  const home = `http://${spec.address}:${spec.port}/`
  return {
    instance: {
      instanceId: spec.id,
      hostName: spec.address,
      app: appName(spec.service),
      ipAddr: spec.address,
      status: spec.status,
      overriddenStatus: 'UNKNOWN',
      // "@enabled" is a string in Eureka's JSON.
      port: { $: spec.port, '@enabled': 'true' },
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
      leaseInfo: { renewalIntervalInSecs: Math.max(1, Math.floor(durationInSecs / 3)), durationInSecs },
      metadata,
      vipAddress: spec.service,
      secureVipAddress: spec.service,
      homePageUrl: home,
      statusPageUrl: `${home}info`,
      healthCheckUrl: `${home}health`,
      lastDirtyTimestamp: String(lastDirty),
    },
  }
}

/** Old XStream-era servers send a single element as an object instead of an array. */
export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return []
  return Array.isArray(value) ? value : [value]
}

function bad(service: string, field: string, value: unknown): ProtocolError {
  return new ProtocolError(`eureka: an instance of ${appName(service)} has a malformed ${field}: ${describeValue(value)}`, { details: { service, field } })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function readStatus(value: unknown): InstanceStatus {
  if (value === 'UP' || value === 'DOWN' || value === 'STARTING' || value === 'OUT_OF_SERVICE') return value
  // UNKNOWN (or anything newer) is not a state to send traffic to.
  return 'DOWN'
}

function readTags(service: string, raw: string | undefined): string[] {
  if (raw === undefined) return []
  try {
    const tags = JSON.parse(raw) as unknown
    if (Array.isArray(tags) && tags.every((t) => typeof t === 'string')) return tags
  } catch {
    // fall through
  }
  throw bad(service, `metadata.${OWN.tags}`, raw)
}

export function decodeInstance(service: string, raw: unknown): Instance {
  if (!isObject(raw)) throw bad(service, 'instance', raw)
  const id = raw.instanceId ?? raw.hostName
  if (typeof id !== 'string' || id === '') throw bad(service, 'instanceId', raw.instanceId)
  const address = typeof raw.ipAddr === 'string' && raw.ipAddr !== '' ? raw.ipAddr : raw.hostName
  if (typeof address !== 'string' || address === '') throw bad(service, 'ipAddr', raw.ipAddr)
  const portValue = isObject(raw.port) ? raw.port.$ : raw.port
  const port = typeof portValue === 'string' ? Number(portValue) : portValue
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw bad(service, 'port', raw.port)
  const meta = raw.metadata ?? {}
  if (!isObject(meta)) throw bad(service, 'metadata', meta)
  const metadata: Record<string, string> = {}
  // "@class" is the codec's type marker, not metadata.
  for (const [k, v] of Object.entries(meta)) if (!k.startsWith('gc-') && !k.startsWith('@')) metadata[k] = String(v)
  const weight = meta[OWN.weight] === undefined ? 1 : Number(meta[OWN.weight])
  if (!Number.isFinite(weight) || weight < 0) throw bad(service, `metadata.${OWN.weight}`, meta[OWN.weight])
  const zone = typeof meta[OWN.zone] === 'string' ? meta[OWN.zone] : typeof meta.zone === 'string' ? meta.zone : undefined
  return {
    id,
    service,
    address,
    port,
    status: readStatus(raw.status),
    metadata,
    tags: readTags(service, meta[OWN.tags] as string | undefined),
    weight,
    ...(zone === undefined ? {} : { zone: zone as string }),
  }
}

export function sortById(instances: Instance[]): Instance[] {
  return instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}
