/**
 * The fake Nacos naming store (v1 open API), from InstanceController, BeatReactor and
 * NamingResponseCode: instances are keyed by ip:port:cluster within `group@@service` of a
 * namespace; ephemeral ones turn unhealthy 15 s and disappear 30 s after their last beat
 * (or after the metadata's preserved.heart.beat.timeout / preserved.ip.delete.timeout);
 * a light beat for an unknown instance answers code 20404, a full one re-registers it.
 * A service without instances stays listed until the empty-service cleaner removes it
 * (nacos.naming.clean.empty-service.expired-time, 60 s by default).
 */

export interface NacosInstance {
  ip: string
  port: number
  weight: number
  healthy: boolean
  enabled: boolean
  ephemeral: boolean
  clusterName: string
  serviceName: string
  metadata: Record<string, string>
  lastBeat: number
}

export class NamingInputError extends Error {}

const DEFAULT_BEAT_MS = 5_000
const DEFAULT_UNHEALTHY_MS = 15_000
const DEFAULT_DELETE_MS = 30_000

/** `group@@service`, as the server's ServiceNameFilter builds it. */
export function groupedName(serviceName: string, groupName: string | null): string {
  return serviceName.includes('@@') ? serviceName : `${groupName || 'DEFAULT_GROUP'}@@${serviceName}`
}

function num(meta: Record<string, string>, key: string, fallback: number): number {
  const n = Number(meta[key])
  return Number.isFinite(n) && n > 0 ? n : fallback
}

export class FakeNaming {
  /** namespace → grouped service name → instance key → instance. */
  readonly spaces = new Map<string, Map<string, Map<string, NacosInstance>>>()
  /** When each service seen empty became so (the cleaner's clock). */
  private readonly emptySince = new Map<Map<string, NacosInstance>, number>()

  constructor(private readonly emptyServiceCleanMs = 60_000) {}

  private service(ns: string, name: string, create: boolean): Map<string, NacosInstance> | undefined {
    let space = this.spaces.get(ns)
    if (space === undefined && create) this.spaces.set(ns, (space = new Map()))
    let svc = space?.get(name)
    if (svc === undefined && create && space !== undefined) space.set(name, (svc = new Map()))
    return svc
  }

  register(ns: string, name: string, p: Record<string, string | undefined>): void {
    const ip = p.ip
    const port = Number(p.port)
    if (!ip) throw new NamingInputError("Required parameter 'ip' type String is not present")
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new NamingInputError(`Param 'port' is illegal, port: ${String(p.port)}`)
    const weight = p.weight === undefined ? 1 : Number(p.weight)
    if (!Number.isFinite(weight) || weight < 0 || weight > 10_000) throw new NamingInputError(`instance format invalid: The weights range from 0.0 to 10000.0`)
    let metadata: Record<string, string> = {}
    if (p.metadata) {
      try {
        metadata = JSON.parse(p.metadata) as Record<string, string>
      } catch {
        throw new NamingInputError('instance format invalid: metadata is not a JSON object')
      }
    }
    const cluster = p.clusterName ?? p.cluster ?? 'DEFAULT'
    this.service(ns, name, true)!.set(`${ip}:${port}:${cluster}`, {
      ip,
      port,
      weight,
      healthy: p.healthy !== 'false',
      enabled: (p.enabled ?? p.enable) !== 'false',
      ephemeral: p.ephemeral !== 'false',
      clusterName: cluster,
      serviceName: name,
      metadata,
      lastBeat: Date.now(),
    })
  }

  deregister(ns: string, name: string, ip: string, port: number, cluster: string): void {
    const svc = this.service(ns, name, false)
    svc?.delete(`${ip}:${port}:${cluster}`)
  }

  /** PUT /instance/beat: the JSON answer of InstanceController.beat. */
  beat(ns: string, name: string, p: Record<string, string | undefined>): Record<string, unknown> {
    let info: Record<string, unknown> | undefined
    if (p.beat) info = JSON.parse(p.beat) as Record<string, unknown>
    const ip = (info?.ip as string | undefined) ?? p.ip
    const port = Number(info?.port ?? p.port)
    const cluster = (info?.cluster as string | undefined) ?? p.clusterName ?? 'DEFAULT'
    const found = this.service(ns, name, false)?.get(`${ip}:${port}:${cluster}`)
    if (found === undefined) {
      if (info === undefined) return { code: 20404, clientBeatInterval: DEFAULT_BEAT_MS, lightBeatEnabled: true }
      this.register(ns, name, { ip, port: String(port), clusterName: cluster, weight: String(info.weight ?? 1), metadata: JSON.stringify(info.metadata ?? {}) })
      return { code: 10200, clientBeatInterval: DEFAULT_BEAT_MS, lightBeatEnabled: true }
    }
    found.lastBeat = Date.now()
    found.healthy = true
    return { code: 10200, clientBeatInterval: num(found.metadata, 'preserved.heart.beat.interval', DEFAULT_BEAT_MS), lightBeatEnabled: true }
  }

  /** The health checker: ephemeral instances without beats go unhealthy, then away; empty services are cleaned. */
  check(now: number): void {
    for (const space of this.spaces.values()) {
      for (const [name, svc] of space) {
        this.cleanIfEmpty(space, name, svc, now)
        for (const [key, i] of svc) {
          if (!i.ephemeral) continue
          const silent = now - i.lastBeat
          if (silent > num(i.metadata, 'preserved.ip.delete.timeout', DEFAULT_DELETE_MS)) svc.delete(key)
          else if (silent > num(i.metadata, 'preserved.heart.beat.timeout', DEFAULT_UNHEALTHY_MS)) i.healthy = false
        }
      }
    }
  }

  private cleanIfEmpty(space: Map<string, Map<string, NacosInstance>>, name: string, svc: Map<string, NacosInstance>, now: number): void {
    if (svc.size > 0) {
      this.emptySince.delete(svc)
      return
    }
    const since = this.emptySince.get(svc) ?? now
    this.emptySince.set(svc, since)
    if (now - since < this.emptyServiceCleanMs) return
    space.delete(name)
    this.emptySince.delete(svc)
  }

  /**
   * GET /service/list (ServiceController.list): the names of the group's services in the
   * namespace, without the group, one page of them (pageNo from 1), and the total count.
   */
  serviceList(ns: string, group: string, pageNo: number, pageSize: number): { count: number; doms: string[] } {
    const prefix = `${group}@@`
    const names = [...(this.spaces.get(ns)?.keys() ?? [])].filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length))
    const start = Math.max(0, (pageNo - 1) * pageSize)
    return { count: names.length, doms: names.slice(start, start + pageSize) }
  }

  /** GET /instance/list: a ServiceInfo. */
  list(ns: string, name: string, clusters: string, healthyOnly: boolean, cacheMillis: number): Record<string, unknown> {
    const wanted = clusters === '' ? undefined : new Set(clusters.split(','))
    const hosts = [...(this.service(ns, name, false)?.values() ?? [])]
      .filter((i) => (wanted === undefined || wanted.has(i.clusterName)) && (!healthyOnly || i.healthy))
      .map((i) => ({
        instanceId: `${i.ip}#${i.port}#${i.clusterName}#${i.serviceName}`,
        ip: i.ip,
        port: i.port,
        weight: i.weight,
        healthy: i.healthy,
        enabled: i.enabled,
        ephemeral: i.ephemeral,
        clusterName: i.clusterName,
        serviceName: i.serviceName,
        metadata: i.metadata,
        instanceHeartBeatInterval: num(i.metadata, 'preserved.heart.beat.interval', DEFAULT_BEAT_MS),
        instanceHeartBeatTimeOut: num(i.metadata, 'preserved.heart.beat.timeout', DEFAULT_UNHEALTHY_MS),
        ipDeleteTimeout: num(i.metadata, 'preserved.ip.delete.timeout', DEFAULT_DELETE_MS),
      }))
    const [group] = name.split('@@')
    return { name, groupName: group, clusters, cacheMillis, hosts, lastRefTime: Date.now(), checksum: '', allIPs: false, reachProtectionThreshold: false, valid: true }
  }
}
