/**
 * The fake agent's services and TTL checks, with Consul's raft-like index. Facts carried
 * from consul's api-docs (agent/service, agent/check, health) and agent/agent.go:
 * embedded checks are named `service:<ID>` (`service:<ID>:<n>` for several), start
 * `critical` unless a Status is given, turn critical when their TTL passes without a pass,
 * and a service whose check stayed critical past DeregisterCriticalServiceAfter (at least
 * one minute on a real agent) is reaped by a periodic task.
 */
import { parseGoDuration } from '../registry-fakes/fake-http.js'

export const FAKE_NODE = { ID: '7a3f2c1e-0000-4000-8000-00000000c0de', Node: 'consul-fake', Address: '127.0.0.1', Datacenter: 'dc1' }

export interface StoredService {
  ID: string
  Service: string
  Tags: string[]
  Address: string
  Port: number
  Meta: Record<string, string>
  Weights: { Passing: number; Warning: number }
  EnableTagOverride: boolean
  CreateIndex: number
  ModifyIndex: number
}

export interface StoredCheck {
  CheckID: string
  Name: string
  Status: 'passing' | 'warning' | 'critical'
  Notes: string
  Output: string
  ServiceID: string
  ServiceName: string
  Type: string
  ttlMs: number
  deregisterAfterMs: number | undefined
  criticalSince: number | undefined
  timer: NodeJS.Timeout | undefined
  CreateIndex: number
  ModifyIndex: number
}

/** A 400 the agent answers in text, as Consul does. */
export class AgentInputError extends Error {}

export interface CatalogOptions {
  readonly minDeregisterCriticalMs: number
  readonly onChange: () => void
}

const META_KEY = /^[a-zA-Z0-9_-]+$/

export class ConsulIndex {
  value = 1
  bump(): number {
    return ++this.value
  }
}

export class FakeCatalog {
  readonly services = new Map<string, StoredService>()
  readonly checks = new Map<string, StoredCheck>()
  /** Index of the last change per service name (deletions included). */
  readonly serviceIndex = new Map<string, number>()
  catalogIndex = 1

  constructor(
    private readonly index: ConsulIndex,
    private readonly options: CatalogOptions,
  ) {}

  /** PUT /v1/agent/service/register. */
  register(body: Record<string, unknown>, replaceExistingChecks: boolean): void {
    const get = (camel: string, snake: string): unknown => body[camel] ?? body[snake]
    const name = get('Name', 'name')
    if (typeof name !== 'string' || name === '') throw new AgentInputError('Missing service name')
    const id = (get('ID', 'id') as string | undefined) || name
    const meta = (get('Meta', 'meta') ?? {}) as Record<string, unknown>
    for (const [k, v] of Object.entries(meta)) {
      if (!META_KEY.test(k)) throw new AgentInputError(`Invalid Service Meta: Key contains invalid characters: ${JSON.stringify(k)}`)
      if (k.startsWith('consul-')) throw new AgentInputError(`Invalid Service Meta: Key prefix 'consul-' is reserved for internal use`)
      if (typeof v !== 'string' || v.length > 512) throw new AgentInputError('Invalid Service Meta: Value is too long or not a string')
    }
    const port = get('Port', 'port') ?? 0
    if (typeof port !== 'number' || !Number.isInteger(port)) throw new AgentInputError('Request decode failed: Port must be an integer')
    const weights = (get('Weights', 'weights') ?? { Passing: 1, Warning: 1 }) as { Passing: number; Warning: number }
    const at = this.index.bump()
    const previous = this.services.get(id)
    this.services.set(id, {
      ID: id,
      Service: name,
      Tags: ((get('Tags', 'tags') ?? []) as string[]).slice(),
      Address: (get('Address', 'address') as string | undefined) ?? '',
      Port: port,
      Meta: meta as Record<string, string>,
      Weights: { Passing: weights.Passing ?? 1, Warning: weights.Warning ?? 1 },
      EnableTagOverride: get('EnableTagOverride', 'enable_tag_override') === true,
      CreateIndex: previous?.CreateIndex ?? at,
      ModifyIndex: at,
    })
    if (previous !== undefined && previous.Service !== name) this.touch(previous.Service, at)
    const defs = this.checkDefinitions(body)
    const kept = new Set<string>()
    defs.forEach((def, i) => kept.add(this.addCheck(def, id, name, defs.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`, at)))
    if (replaceExistingChecks) for (const c of this.checksOf(id)) if (!kept.has(c.CheckID)) this.dropCheck(c.CheckID)
    this.touch(name, at)
  }

  private checkDefinitions(body: Record<string, unknown>): Record<string, unknown>[] {
    const many = body.Checks ?? body.checks
    if (Array.isArray(many)) return many as Record<string, unknown>[]
    const one = body.Check ?? body.check
    return one === undefined || one === null ? [] : [one as Record<string, unknown>]
  }

  private addCheck(def: Record<string, unknown>, serviceId: string, serviceName: string, defaultId: string, at: number): string {
    const ttl = def.TTL ?? def.ttl
    const ttlMs = typeof ttl === 'string' ? parseGoDuration(ttl) : undefined
    if (ttl !== undefined && ttlMs === undefined) throw new AgentInputError(`Invalid check: TTL ${JSON.stringify(ttl)} is not a duration`)
    const after = def.DeregisterCriticalServiceAfter ?? def.deregister_critical_service_after
    const afterMs = typeof after === 'string' ? parseGoDuration(after) : undefined
    const id = (def.CheckID ?? def.check_id ?? def.ID ?? def.id ?? defaultId) as string
    const status = (def.Status ?? def.status ?? 'critical') as StoredCheck['Status']
    const previous = this.checks.get(id)
    if (previous?.timer) clearTimeout(previous.timer)
    const check: StoredCheck = {
      CheckID: id,
      Name: (def.Name ?? def.name ?? `Service '${serviceName}' check`) as string,
      Status: status,
      Notes: (def.Notes ?? def.notes ?? '') as string,
      Output: '',
      ServiceID: serviceId,
      ServiceName: serviceName,
      Type: ttlMs === undefined ? '' : 'ttl',
      ttlMs: ttlMs ?? 0,
      deregisterAfterMs: afterMs === undefined ? undefined : Math.max(afterMs, this.options.minDeregisterCriticalMs),
      criticalSince: status === 'critical' ? Date.now() : undefined,
      timer: undefined,
      CreateIndex: previous?.CreateIndex ?? at,
      ModifyIndex: at,
    }
    this.checks.set(id, check)
    this.armTtl(check)
    return id
  }

  private armTtl(check: StoredCheck): void {
    if (check.timer) clearTimeout(check.timer)
    if (check.ttlMs <= 0) return
    check.timer = setTimeout(() => this.setStatus(check.CheckID, 'critical', `TTL expired`), check.ttlMs)
    check.timer.unref()
  }

  /** PUT /v1/agent/check/{pass,warn,fail,update}/:id: false for an unknown check. */
  updateTtl(checkId: string, status: StoredCheck['Status'], output: string): boolean {
    const check = this.checks.get(checkId)
    if (check === undefined) return false
    this.armTtl(check)
    this.setStatus(checkId, status, output)
    return true
  }

  private setStatus(checkId: string, status: StoredCheck['Status'], output: string): void {
    const check = this.checks.get(checkId)
    if (check === undefined) return
    if (check.Status === status && check.Output === output) return
    if (status === 'critical' && check.Status !== 'critical') check.criticalSince = Date.now()
    if (status !== 'critical') check.criticalSince = undefined
    // Consul writes a status change to the catalog (a new index), not an output-only one.
    const changed = check.Status !== status
    check.Status = status
    check.Output = output
    if (changed) {
      const at = this.index.bump()
      check.ModifyIndex = at
      this.touch(check.ServiceName, at)
    }
  }

  /** PUT /v1/agent/service/deregister/:id (a no-op when absent). */
  deregister(serviceId: string): void {
    const service = this.services.get(serviceId)
    if (service === undefined) return
    for (const c of this.checksOf(serviceId)) this.dropCheck(c.CheckID)
    this.services.delete(serviceId)
    this.touch(service.Service, this.index.bump())
  }

  /** The reaper: services whose check stayed critical past DeregisterCriticalServiceAfter. */
  reap(now: number): void {
    for (const check of [...this.checks.values()]) {
      if (check.deregisterAfterMs === undefined || check.criticalSince === undefined) continue
      if (now - check.criticalSince >= check.deregisterAfterMs) this.deregister(check.ServiceID)
    }
  }

  checksOf(serviceId: string): StoredCheck[] {
    return [...this.checks.values()].filter((c) => c.ServiceID === serviceId)
  }

  instancesOf(name: string): StoredService[] {
    return [...this.services.values()].filter((s) => s.Service === name)
  }

  /** The X-Consul-Index of a service's health: its last change, or the catalog's for an unknown one. */
  indexOf(name: string): number {
    return this.serviceIndex.get(name) ?? this.catalogIndex
  }

  /** Every stored index goes down to `to` (a snapshot restore): clients must start over. */
  lowerIndexes(to: number): void {
    for (const [name, at] of this.serviceIndex) this.serviceIndex.set(name, Math.min(at, to))
    this.catalogIndex = Math.min(this.catalogIndex, to)
  }

  clear(): void {
    for (const c of this.checks.values()) if (c.timer) clearTimeout(c.timer)
    this.checks.clear()
    this.services.clear()
  }

  private dropCheck(id: string): void {
    const c = this.checks.get(id)
    if (c?.timer) clearTimeout(c.timer)
    this.checks.delete(id)
  }

  private touch(name: string, at: number): void {
    this.serviceIndex.set(name, at)
    this.catalogIndex = at
    this.options.onChange()
  }
}
