/**
 * The registry (protocol section 5): instances per service with their leases, a resource
 * index per service, and expiry through an ExpiryQueue. Lives in memory only.
 */
import type { Instance } from '../types.js'
import { ExpiryQueue, type MonotonicClock } from './expiry.js'
import type { IndexCounter } from './index-counter.js'
import { limitExceeded } from './http-error.js'
import { InstanceOverrides, type InstanceOverride } from './instance-overrides.js'
import type { RegistrationBody } from './validation.js'

/** The instance object of protocol section 5, as answered: the client's Instance plus its lease facts. */
export interface InstanceJson extends Instance {
  readonly ttlMs: number
  readonly registeredAt: number
  readonly renewedAt: number
  /** An operator's override, when one is set; `status` and `weight` above already apply it. */
  readonly override?: InstanceOverride
}

/** A row of `GET /v1/services`; `byStatus`, `byZone` (`""` for none) and `index` are the reference server's additions. */
export interface ServiceSummary {
  readonly name: string
  readonly instances: number
  readonly byStatus: Record<string, number>
  readonly byZone: Record<string, number>
  readonly index: string
}

interface InstanceRecord {
  readonly service: string
  readonly id: string
  spec: RegistrationBody
  readonly registeredAt: number
  renewedAt: number
  /** Monotonic time at which the lease runs out. */
  deadline: number
  /** Deadline of this record's live entry in the expiry queue. */
  queuedAt: number
  /** This instance's JSON in list answers; dropped when anything in it changes (renewedAt too). */
  json: string | undefined
}

interface ServiceRecord {
  index: bigint
  readonly instances: Map<string, InstanceRecord>
  /** The encoded list answer, shared by every reader and woken watcher of this index. */
  encoded?: EncodedList
  /** Instance ids in answer order; dropped when an instance is added or removed. */
  sortedIds?: string[]
}

/** A list answer's body, encoded once; `builtAt` bounds how stale `renewedAt` may be in it. */
export interface EncodedList {
  readonly index: bigint
  readonly body: Buffer
  readonly builtAt: number
}

/**
 * How long an encoded list is reused when nothing changed but heartbeats (renewedAt, which
 * does not move the index): a second, or 0.1 ms per instance for big services, so that
 * re-encoding a big list for fresher renewedAt values stays a small share of the CPU.
 */
const encodedListMaxAgeMs = (instances: number): number => Math.max(1_000, instances / 10)

export interface RegistryStoreOptions {
  readonly counter: IndexCounter
  /** Called after every change of a service's instance set. */
  readonly onChange: (service: string) => void
  readonly monotonic?: MonotonicClock
  readonly wallClock?: () => number
  /** Empty services whose index is remembered (so their watchers keep holding correctly). */
  readonly maxEmptyServices?: number
  /** A registration of a new instance past this answers 429. Default unlimited. */
  readonly maxInstancesPerService?: number
  /** A first instance of a new service past this many services answers 429. Default unlimited. */
  readonly maxServices?: number
  /** Told of each refusal, for the server's counters and log. */
  readonly onRefuse?: (limit: 'maxInstancesPerService' | 'maxServices', service: string) => void
}

export class RegistryStore {
  readonly #services = new Map<string, ServiceRecord>()
  /** Services with no instances, oldest first, so their records can be dropped past the cap. */
  readonly #empty = new Set<string>()
  readonly #counter: IndexCounter
  readonly #onChange: (service: string) => void
  readonly #monotonic: MonotonicClock
  readonly #wall: () => number
  readonly #maxEmpty: number
  readonly #expiry: ExpiryQueue<InstanceRecord>
  readonly #maxInstances: number
  readonly #maxServices: number
  readonly #onRefuse: NonNullable<RegistryStoreOptions['onRefuse']>
  readonly #overrides = new InstanceOverrides()
  #index = 1n
  /** Services that have at least one instance. */
  #live = 0

  constructor(options: RegistryStoreOptions) {
    this.#counter = options.counter
    this.#onChange = options.onChange
    this.#monotonic = options.monotonic ?? (() => performance.now())
    this.#wall = options.wallClock ?? Date.now
    this.#maxEmpty = options.maxEmptyServices ?? 10_000
    this.#maxInstances = options.maxInstancesPerService ?? Infinity
    this.#maxServices = options.maxServices ?? Infinity
    this.#onRefuse = options.onRefuse ?? (() => {})
    this.#expiry = new ExpiryQueue((record, at, now) => this.#due(record, at, now), this.#monotonic)
  }

  /** Index of the latest change to any service (1 before the first). */
  get index(): bigint {
    return this.#index
  }

  serviceIndex(service: string): bigint {
    return this.#services.get(service)?.index ?? 1n
  }

  /** Registers or updates an instance; throws 429 `limit_exceeded` past the instance or service limits. */
  upsert(service: string, id: string, spec: RegistrationBody): { instance: InstanceJson; index: bigint } {
    const existing = this.#services.get(service)?.instances.get(id)
    if (!existing) this.#admit(service)
    const record = this.#serviceRecord(service)
    const now = this.#monotonic()
    const deadline = now + spec.ttlMs
    if (existing) {
      const changed = !sameSpec(existing.spec, spec)
      existing.spec = spec
      existing.json = undefined
      existing.renewedAt = this.#wall()
      existing.deadline = deadline
      if (deadline < existing.queuedAt) this.#queue(existing)
      if (changed) this.#changed(service, record)
      return { instance: this.#json(existing), index: record.index }
    }
    const wall = this.#wall()
    const created: InstanceRecord = { service, id, spec, registeredAt: wall, renewedAt: wall, deadline, queuedAt: Infinity, json: undefined }
    record.instances.set(id, created)
    record.sortedIds = undefined
    if (record.instances.size === 1) this.#live += 1
    this.#empty.delete(service)
    this.#queue(created)
    this.#changed(service, record)
    return { instance: this.#json(created), index: record.index }
  }

  /** Restarts the lease; undefined when the instance is not held. */
  renew(service: string, id: string): { ttlMs: number; override?: InstanceOverride } | undefined {
    const existing = this.#services.get(service)?.instances.get(id)
    if (!existing) return undefined
    existing.renewedAt = this.#wall()
    existing.json = undefined
    existing.deadline = this.#monotonic() + existing.spec.ttlMs
    const override = this.#overrides.get(service, id)
    return override === undefined ? { ttlMs: existing.spec.ttlMs } : { ttlMs: existing.spec.ttlMs, override }
  }

  /**
   * Sets an operator override on a held instance: 'missing' when it is not held, 'full'
   * when the override table is at its cap.
   */
  override(service: string, id: string, override: Omit<InstanceOverride, 'setAt'>): { instance: InstanceJson; index: bigint } | 'missing' | 'full' {
    const record = this.#services.get(service)
    const existing = record?.instances.get(id)
    if (!record || !existing) return 'missing'
    if (!this.#overrides.set(service, id, { ...override, setAt: this.#wall() })) return 'full'
    existing.json = undefined // the cached fragment shows the old status and weight
    this.#changed(service, record)
    return { instance: this.#json(existing), index: record.index }
  }

  /** Clears an override; whether there was one. Watchers wake when the instance is held. */
  clearOverride(service: string, id: string): { cleared: boolean; index: bigint } {
    const cleared = this.#overrides.clear(service, id)
    const record = this.#services.get(service)
    const instance = record?.instances.get(id)
    if (cleared && record && instance) {
      instance.json = undefined
      this.#changed(service, record)
    }
    return { cleared, index: this.serviceIndex(service) }
  }

  remove(service: string, id: string): { removed: boolean; index: bigint } {
    const record = this.#services.get(service)
    if (!record?.instances.delete(id)) return { removed: false, index: this.serviceIndex(service) }
    record.sortedIds = undefined
    if (record.instances.size === 0) this.#live -= 1
    this.#changed(service, record)
    return { removed: true, index: record.index }
  }

  /** The list answer's body (`{ service, instances, index }`), encoded once per change and shared. */
  listAnswer(service: string): EncodedList {
    const record = this.#services.get(service)
    const now = this.#monotonic()
    const cached = record?.encoded
    if (cached !== undefined && cached.index === record!.index && now - cached.builtAt < encodedListMaxAgeMs(record!.instances.size)) return cached
    if (!record) return { index: 1n, body: Buffer.from(JSON.stringify({ service, instances: [], index: '1' })), builtAt: now }
    // Built from per-instance fragments: only instances that changed since the last answer are serialised again.
    record.sortedIds ??= [...record.instances.keys()].sort(compareIds)
    const parts = record.sortedIds.map((id) => {
      const instance = record.instances.get(id)!
      return (instance.json ??= JSON.stringify(this.#json(instance)))
    })
    const index = record.index.toString()
    const text = `{"service":${JSON.stringify(service)},"instances":[${parts.join(',')}],"index":"${index}"}`
    return (record.encoded = { index: record.index, body: Buffer.from(text), builtAt: now })
  }

  /** Services that have instances now. */
  get serviceCount(): number {
    return this.#live
  }

  list(service: string): { instances: InstanceJson[]; index: bigint } {
    const record = this.#services.get(service)
    if (!record) return { instances: [], index: 1n }
    const ids = [...record.instances.keys()].sort(compareIds)
    return { instances: ids.map((id) => this.#json(record.instances.get(id)!)), index: record.index }
  }

  /** Services that have instances, sorted by name. */
  services(): ServiceSummary[] {
    const names: ServiceSummary[] = []
    for (const [name, record] of this.#services) {
      if (record.instances.size === 0) continue
      const byStatus: Record<string, number> = {}
      const byZone: Record<string, number> = {}
      for (const instance of record.instances.values()) {
        const status = this.#overrides.get(name, instance.id)?.status ?? instance.spec.status
        byStatus[status] = (byStatus[status] ?? 0) + 1
        const zone = instance.spec.zone ?? ''
        byZone[zone] = (byZone[zone] ?? 0) + 1
      }
      names.push({ name, instances: record.instances.size, byStatus, byZone, index: record.index.toString() })
    }
    return names.sort((a, b) => compareIds(a.name, b.name))
  }

  close(): void {
    this.#expiry.close()
  }

  #serviceRecord(service: string): ServiceRecord {
    let record = this.#services.get(service)
    if (!record) {
      record = { index: 1n, instances: new Map() }
      this.#services.set(service, record)
    }
    return record
  }

  #json(record: InstanceRecord): InstanceJson {
    return toJson(record, this.#overrides.get(record.service, record.id))
  }

  #queue(record: InstanceRecord): void {
    record.queuedAt = record.deadline
    this.#expiry.schedule(record, record.deadline)
  }

  #admit(service: string): void {
    const size = this.#services.get(service)?.instances.size ?? 0
    if (size >= this.#maxInstances) {
      this.#onRefuse('maxInstancesPerService', service)
      throw limitExceeded('maxInstancesPerService', `service ${JSON.stringify(service)} has ${size} instances, the limit (maxInstancesPerService)`)
    }
    if (size === 0 && this.#live >= this.#maxServices) {
      this.#onRefuse('maxServices', service)
      throw limitExceeded('maxServices', `the registry holds ${this.#live} services, the limit (maxServices)`)
    }
  }

  #changed(service: string, record: ServiceRecord): void {
    record.index = this.#counter.next()
    record.encoded = undefined
    this.#index = record.index
    if (record.instances.size === 0) this.#rememberEmpty(service)
    this.#onChange(service)
  }

  #rememberEmpty(service: string): void {
    this.#empty.delete(service)
    this.#empty.add(service)
    if (this.#empty.size <= this.#maxEmpty) return
    const oldest = this.#empty.values().next().value as string
    this.#empty.delete(oldest)
    // A watcher that later asks with the forgotten index gets index 1, lower than its
    // own, and re-lists (protocol section 4): correct, just not held.
    if (this.#services.get(oldest)?.instances.size === 0) this.#services.delete(oldest)
  }

  #due(record: InstanceRecord, at: number, now: number): void {
    const current = this.#services.get(record.service)?.instances.get(record.id)
    if (current !== record || record.queuedAt !== at) return // replaced, removed or rescheduled earlier
    if (record.deadline > now) {
      this.#queue(record) // renewed since it was queued
      return
    }
    this.remove(record.service, record.id)
  }
}

/** Code-unit order, the same in every locale (names are ASCII). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function toJson(record: InstanceRecord, override: InstanceOverride | undefined): InstanceJson {
  const { spec } = record
  const json: InstanceJson = {
    id: record.id,
    service: record.service,
    address: spec.address,
    port: spec.port,
    status: override?.status ?? spec.status,
    metadata: spec.metadata,
    tags: spec.tags,
    ...(spec.zone === undefined ? {} : { zone: spec.zone }),
    weight: override?.weight ?? spec.weight,
    ttlMs: spec.ttlMs,
    registeredAt: record.registeredAt,
    renewedAt: record.renewedAt,
  }
  return override === undefined ? json : { ...json, override }
}

function sameSpec(a: RegistrationBody, b: RegistrationBody): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.ttlMs === b.ttlMs &&
    a.status === b.status &&
    a.zone === b.zone &&
    a.weight === b.weight &&
    a.tags.length === b.tags.length &&
    a.tags.every((tag, i) => tag === b.tags[i]) &&
    sameRecord(a.metadata, b.metadata)
  )
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k])
}
