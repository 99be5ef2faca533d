/**
 * The fake Eureka server's registry, from Netflix/eureka's ApplicationResource,
 * InstanceResource, ApplicationsResource and AbstractInstanceRegistry: leases expire after
 * `durationInSecs` without a renewal (the eviction task runs periodically), changes go to
 * a delta queue kept for a retention window (180 s), a status override (PUT …/status)
 * wins over the status the instance reports until it is deleted, and the apps hash code
 * is `<STATUS>_<count>_` for each status, sorted by name.
 */

export type EurekaStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN'
export type ActionType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoredInstance {
  /** The instance JSON as registered (normalised), without the server-kept fields. */
  body: Record<string, unknown>
  app: string
  instanceId: string
  reported: EurekaStatus
  override: EurekaStatus | undefined
  durationMs: number
  registeredAt: number
  lastRenewedAt: number
  lastDirty: number
  lastUpdated: number
}

interface DeltaItem {
  readonly at: number
  readonly action: ActionType
  readonly instance: Record<string, unknown>
}

export class EurekaInputError extends Error {}

const STATUSES: ReadonlySet<string> = new Set(['UP', 'DOWN', 'STARTING', 'OUT_OF_SERVICE', 'UNKNOWN'])

export function isEurekaStatus(v: unknown): v is EurekaStatus {
  return typeof v === 'string' && STATUSES.has(v)
}

export class FakeEurekaRegistry {
  readonly apps = new Map<string, Map<string, StoredInstance>>()
  private delta: DeltaItem[] = []
  /** Grows with every change (ApplicationsResource's versions__delta). */
  version = 1

  constructor(private readonly retentionMs: number) {}

  /** POST /apps/{APP}: the checks of ApplicationResource.addInstance, in its order. */
  register(pathApp: string, body: unknown): void {
    const wrapper = body as { instance?: Record<string, unknown> } | undefined
    const i = wrapper?.instance
    if (typeof i !== 'object' || i === null) throw new EurekaInputError('Missing instance')
    const has = (k: string) => typeof i[k] === 'string' && (i[k] as string) !== ''
    if (!has('hostName')) throw new EurekaInputError('Missing hostname')
    const instanceId = has('instanceId') ? (i.instanceId as string) : (i.hostName as string)
    if (!has('ipAddr')) throw new EurekaInputError('Missing ip address')
    if (!has('app')) throw new EurekaInputError('Missing appName')
    const app = pathApp.toUpperCase()
    if ((i.app as string).toUpperCase() !== app) throw new EurekaInputError(`Mismatched appName, expecting ${app} but was ${String(i.app)}`)
    const dc = i.dataCenterInfo as Record<string, unknown> | undefined
    if (typeof dc !== 'object' || dc === null) throw new EurekaInputError('Missing dataCenterInfo')
    if (typeof dc.name !== 'string' || dc.name === '') throw new EurekaInputError('Missing dataCenterInfo Name')
    const lease = (i.leaseInfo ?? {}) as Record<string, unknown>
    const duration = Number(lease.durationInSecs ?? 90)
    const now = Date.now()
    const instances = this.apps.get(app) ?? new Map<string, StoredInstance>()
    this.apps.set(app, instances)
    const previous = instances.get(instanceId)
    const reported = isEurekaStatus(i.status) ? i.status : 'UP'
    instances.set(instanceId, {
      body: { ...i, app, instanceId },
      app,
      instanceId,
      reported,
      override: previous?.override,
      durationMs: (Number.isFinite(duration) && duration > 0 ? duration : 90) * 1000,
      registeredAt: previous?.registeredAt ?? now,
      lastRenewedAt: now,
      lastDirty: Number(i.lastDirtyTimestamp ?? now),
      lastUpdated: now,
    })
    this.record(previous === undefined ? 'ADDED' : 'MODIFIED', instances.get(instanceId)!)
  }

  /** PUT /apps/{APP}/{id}: false (404) for an unknown instance or a client copy newer than ours. */
  renew(app: string, id: string, status: string | null, lastDirty: string | null): boolean {
    const s = this.find(app, id)
    if (s === undefined) return false
    if (lastDirty !== null && Number(lastDirty) > s.lastDirty) return false
    s.lastRenewedAt = Date.now()
    if (status !== null && isEurekaStatus(status) && status !== s.reported) {
      s.reported = status
      this.changed(s)
    }
    return true
  }

  cancel(app: string, id: string): boolean {
    const s = this.find(app, id)
    if (s === undefined) return false
    this.apps.get(s.app)!.delete(id)
    if (this.apps.get(s.app)!.size === 0) this.apps.delete(s.app)
    this.record('DELETED', s)
    return true
  }

  /** PUT …/status?value= sets an override; DELETE …/status removes it. */
  setOverride(app: string, id: string, value: EurekaStatus | undefined): boolean {
    const s = this.find(app, id)
    if (s === undefined) return false
    s.override = value
    this.changed(s)
    return true
  }

  updateMetadata(app: string, id: string, pairs: URLSearchParams): boolean {
    const s = this.find(app, id)
    if (s === undefined) return false
    const meta = { ...((s.body.metadata ?? {}) as Record<string, string>) }
    for (const [k, v] of pairs) meta[k] = v
    s.body = { ...s.body, metadata: meta }
    this.changed(s)
    return true
  }

  /** The eviction task: leases not renewed within their duration are cancelled. */
  evict(now: number): void {
    for (const instances of [...this.apps.values()]) {
      for (const s of [...instances.values()]) if (now - s.lastRenewedAt > s.durationMs) this.cancel(s.app, s.instanceId)
    }
    this.delta = this.delta.filter((d) => now - d.at <= this.retentionMs)
  }

  find(app: string, id: string): StoredInstance | undefined {
    return this.apps.get(app.toUpperCase())?.get(id)
  }

  status(s: StoredInstance): EurekaStatus {
    return s.override ?? s.reported
  }

  encode(s: StoredInstance, action?: ActionType): Record<string, unknown> {
    const lease = (s.body.leaseInfo ?? {}) as Record<string, unknown>
    return {
      ...s.body,
      status: this.status(s),
      overriddenStatus: s.override ?? 'UNKNOWN',
      leaseInfo: {
        renewalIntervalInSecs: Number(lease.renewalIntervalInSecs ?? 30),
        durationInSecs: s.durationMs / 1000,
        registrationTimestamp: s.registeredAt,
        lastRenewalTimestamp: s.lastRenewedAt,
        evictionTimestamp: 0,
        serviceUpTimestamp: s.registeredAt,
      },
      isCoordinatingDiscoveryServer: 'false',
      lastUpdatedTimestamp: String(s.lastUpdated),
      lastDirtyTimestamp: String(s.lastDirty),
      ...(action === undefined ? {} : { actionType: action }),
    }
  }

  /** Applications.getReconcileHashCode: `<STATUS>_<count>_` per status, sorted by status. */
  hashCode(instances: readonly { status: unknown }[]): string {
    const counts = new Map<string, number>()
    for (const i of instances) counts.set(String(i.status), (counts.get(String(i.status)) ?? 0) + 1)
    return [...counts.keys()].sort().map((k) => `${k}_${counts.get(k)}_`).join('')
  }

  fullApplications(): Record<string, unknown> {
    const application = [...this.apps.entries()].map(([name, m]) => ({ name, instance: [...m.values()].map((s) => this.encode(s)) }))
    const all = application.flatMap((a) => a.instance)
    return { applications: { versions__delta: String(this.version), apps__hashcode: this.hashCode(all as { status: unknown }[]), application } }
  }

  /** GET /apps/delta: the recent changes, grouped by app, with the hash code of the *full* registry. */
  deltaApplications(now: number): Record<string, unknown> {
    const byApp = new Map<string, Record<string, unknown>[]>()
    for (const d of this.delta) {
      if (now - d.at > this.retentionMs) continue
      const name = String(d.instance.app)
      byApp.set(name, [...(byApp.get(name) ?? []), d.instance])
    }
    const all = [...this.apps.values()].flatMap((m) => [...m.values()].map((s) => ({ status: this.status(s) })))
    return {
      applications: {
        versions__delta: String(this.version),
        apps__hashcode: this.hashCode(all),
        application: [...byApp.entries()].map(([name, instance]) => ({ name, instance })),
      },
    }
  }

  /** A restart: every lease and the delta queue are gone. */
  clear(): void {
    this.apps.clear()
    this.delta = []
    this.version++
  }

  private changed(s: StoredInstance): void {
    s.lastUpdated = Date.now()
    s.lastDirty = s.lastUpdated
    this.record('MODIFIED', s)
  }

  private record(action: ActionType, s: StoredInstance): void {
    this.version++
    this.delta.push({ at: Date.now(), action, instance: this.encode(s, action) })
  }
}
