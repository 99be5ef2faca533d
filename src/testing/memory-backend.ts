/**
 * An in-memory Backend for tests: the real GovernanceClient talks to it like to a server,
 * and the test controls it (instances of other services, config values) and injects
 * faults (unreachable, slow answers, errors for the next calls, lost leases, index resets).
 * Leases expire on setTimeout, so vitest's fake timers drive them.
 */
import type { Backend, BackendCapabilities, CallContext, MetricSink, PutConfigOptions, Unsubscribe, Watcher, WatchOptions } from '../backend.js'
import { ConflictError, LeaseLostError, ServerUnavailableError, type GovernanceError } from '../errors.js'
import type { ConfigEntry, Instance, InstanceSpec, Lease, MetricBatch, RenewResult, ServiceSnapshot } from '../types.js'
import { compareRevisions } from '../types.js'
import { sleep } from '../internal/timers.js'
import { FaultPlan, type MemoryOperation } from './fault-plan.js'

export type { MemoryOperation } from './fault-plan.js'

export interface RecordedCall {
  readonly op: MemoryOperation
  /** Service, key or instance the call was about. */
  readonly target: string
  readonly at: number
}

interface StoredInstance {
  instance: Instance
  ttlMs: number
  timer?: NodeJS.Timeout
}

interface State<T> {
  value: T
  revision: string
}

interface WatchEntry<T> {
  watcher: Watcher<T>
  lastRevision: string | undefined
}

const FULL_CAPABILITIES: BackendCapabilities = {
  deregister: true,
  multipleInstances: true,
  ttl: true,
  push: true,
  compareAndSet: true,
  deleteConfig: true,
}

export class MemoryBackend implements Backend {
  readonly name = 'memory'
  readonly capabilities: BackendCapabilities = FULL_CAPABILITIES
  /** Every call the client made, in order. */
  readonly calls: RecordedCall[] = []
  /** Metric batches received by the sink from createMetricSink(). */
  readonly metricBatches: MetricBatch[] = []
  readonly faults = new FaultPlan()

  #index = 1
  #services = new Map<string, Map<string, StoredInstance>>()
  #serviceIndex = new Map<string, number>()
  #config = new Map<string, ConfigEntry>()
  #configIndex = new Map<string, number>()
  #serviceWatchers = new Map<string, Set<WatchEntry<ServiceSnapshot>>>()
  #configWatchers = new Map<string, Set<WatchEntry<ConfigEntry | undefined>>>()
  #resetPending = false
  #closed = false

  // ---- Backend ----

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    await this.#enter('register', `${spec.service}/${spec.id}`, ctx)
    const { ttlMs, ...instance } = spec
    this.#store(instance, ttlMs)
    return { id: spec.id, service: spec.service, instanceId: spec.id, ttlMs }
  }

  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    await this.#enter('renew', `${lease.service}/${lease.instanceId}`, ctx)
    const stored = this.#services.get(lease.service)?.get(lease.instanceId)
    if (!stored) throw new LeaseLostError(`instance ${lease.service}/${lease.instanceId} is not registered`)
    this.#arm(stored)
    return { ttlMs: stored.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    await this.#enter('deregister', `${lease.service}/${lease.instanceId}`, ctx)
    this.removeInstance(lease.service, lease.instanceId)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    await this.#enter('resolve', service, ctx)
    return this.#snapshot(service)
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    this.#record('watchService', service)
    return this.#watch(this.#serviceWatchers, service, watcher, options, () => this.#serviceState(service))
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    await this.#enter('getConfig', key, ctx)
    return this.#config.get(key)
  }

  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    this.#record('watchConfig', key)
    return this.#watch(this.#configWatchers, key, watcher, options, () => this.#configState(key))
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    await this.#enter('putConfig', key, ctx)
    this.#checkVersion(key, options.ifVersion)
    return this.setConfig(key, value)
  }

  async deleteConfig(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    await this.#enter('deleteConfig', key, ctx)
    this.#checkVersion(key, options.ifVersion)
    return this.deleteConfigKey(key)
  }

  createMetricSink(): MetricSink {
    return {
      name: 'memory',
      export: async (batch, ctx) => {
        await this.#enter('exportMetrics', batch.batchId, ctx)
        if (!this.metricBatches.some((b) => b.batchId === batch.batchId)) this.metricBatches.push(batch)
      },
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const instances of this.#services.values()) for (const s of instances.values()) clearTimeout(s.timer)
    this.#serviceWatchers.clear()
    this.#configWatchers.clear()
  }

  // ---- controls for tests ----

  /** Adds or replaces an instance with no lease (it never expires), as another service would. */
  addInstance(instance: Partial<Instance> & Pick<Instance, 'service' | 'id' | 'address' | 'port'>): Instance {
    const full: Instance = { status: 'UP', metadata: {}, tags: [], weight: 1, ...instance }
    this.#store(full, undefined)
    return full
  }

  removeInstance(service: string, id: string): boolean {
    const instances = this.#services.get(service)
    const stored = instances?.get(id)
    if (!instances || !stored) return false
    clearTimeout(stored.timer)
    instances.delete(id)
    this.#touchService(service)
    return true
  }

  /** The instances the "server" holds now. */
  instances(service: string): Instance[] {
    return [...(this.#services.get(service)?.values() ?? [])].map((s) => s.instance)
  }

  setConfig(key: string, value: unknown): ConfigEntry {
    const index = ++this.#index
    const entry: ConfigEntry = { key, value, version: String(index) }
    this.#config.set(key, entry)
    this.#configIndex.set(key, index)
    this.#notify(this.#configWatchers, key, () => this.#configState(key))
    return entry
  }

  deleteConfigKey(key: string): boolean {
    if (!this.#config.delete(key)) return false
    this.#configIndex.set(key, ++this.#index)
    this.#notify(this.#configWatchers, key, () => this.#configState(key))
    return true
  }

  /** Simulates a server restart that lost the registry: every leased instance is gone and the index restarts. */
  loseAllLeases(): void {
    for (const [service, instances] of this.#services) {
      for (const [id, stored] of instances) {
        if (stored.ttlMs === undefined) continue
        clearTimeout(stored.timer)
        instances.delete(id)
      }
      this.#touchService(service)
    }
    this.resetIndex()
  }

  /**
   * Simulates a reset index or an etcd compaction: revisions restart low and every watcher
   * gets its resource again, flagged `reset`.
   */
  resetIndex(): void {
    this.#index = 1
    for (const service of this.#serviceIndex.keys()) this.#serviceIndex.set(service, 1)
    for (const key of this.#configIndex.keys()) this.#configIndex.set(key, 1)
    this.#resetPending = true
    this.#redeliverAll()
    this.#resetPending = false
  }

  /** While on, every call fails with ServerUnavailableError and watchers are told the feed broke. */
  setUnreachable(unreachable: boolean): void {
    const was = this.faults.unreachable
    this.faults.unreachable = unreachable
    if (unreachable && !was) this.#breakWatches(new ServerUnavailableError('memory backend is unreachable (injected)'))
    if (!unreachable && was) this.#redeliverAll()
  }

  /** How many calls of an operation were recorded. */
  count(op: MemoryOperation): number {
    return this.calls.filter((c) => c.op === op).length
  }

  // ---- internals ----

  async #enter(op: MemoryOperation, target: string, ctx: CallContext): Promise<void> {
    this.#record(op, target)
    if (ctx.signal?.aborted) throw ctx.signal.reason
    const delayMs = this.faults.delayFor(op)
    if (delayMs > 0) await sleep(delayMs, ctx.signal)
    const fault = this.faults.take(op)
    if (fault) throw fault
  }

  #record(op: MemoryOperation, target: string): void {
    this.calls.push({ op, target, at: Date.now() })
  }

  #store(instance: Instance, ttlMs: number | undefined): void {
    let instances = this.#services.get(instance.service)
    if (!instances) this.#services.set(instance.service, (instances = new Map()))
    const previous = instances.get(instance.id)
    if (previous) clearTimeout(previous.timer)
    const stored: StoredInstance = { instance, ttlMs: ttlMs ?? 0 }
    if (ttlMs === undefined) delete (stored as { ttlMs?: number }).ttlMs
    instances.set(instance.id, stored)
    this.#arm(stored)
    if (!previous || JSON.stringify(previous.instance) !== JSON.stringify(instance)) this.#touchService(instance.service)
  }

  #arm(stored: StoredInstance): void {
    clearTimeout(stored.timer)
    if (!stored.ttlMs) return
    const { service, id } = stored.instance
    stored.timer = setTimeout(() => this.removeInstance(service, id), stored.ttlMs)
    stored.timer.unref?.()
  }

  #touchService(service: string): void {
    this.#serviceIndex.set(service, ++this.#index)
    this.#notify(this.#serviceWatchers, service, () => this.#serviceState(service))
  }

  #snapshot(service: string): ServiceSnapshot {
    const instances = [...(this.#services.get(service)?.values() ?? [])]
      .map((s) => s.instance)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return { service, instances, revision: String(this.#serviceIndex.get(service) ?? 1) }
  }

  #checkVersion(key: string, ifVersion: string | undefined): void {
    if (ifVersion === undefined) return
    const current = this.#config.get(key)?.version ?? '0'
    if (current !== ifVersion) {
      throw new ConflictError(`config ${key} is at version ${current}, not ${ifVersion}`, { details: { currentVersion: current } })
    }
  }

  #serviceState(service: string): State<ServiceSnapshot> {
    const value = this.#snapshot(service)
    return { value, revision: value.revision }
  }

  #configState(key: string): State<ConfigEntry | undefined> {
    return { value: this.#config.get(key), revision: String(this.#configIndex.get(key) ?? 1) }
  }

  #watch<T>(
    registry: Map<string, Set<WatchEntry<T>>>,
    target: string,
    watcher: Watcher<T>,
    options: WatchOptions | undefined,
    current: () => State<T>,
  ): Unsubscribe {
    const entry: WatchEntry<T> = { watcher, lastRevision: options?.afterRevision }
    let set = registry.get(target)
    if (!set) registry.set(target, (set = new Set()))
    set.add(entry)
    queueMicrotask(() => {
      if (!set.has(entry)) return
      if (this.faults.unreachable) watcher.error(new ServerUnavailableError('memory backend is unreachable (injected)'))
      else this.#deliver(entry, current(), false)
    })
    return () => {
      set.delete(entry)
    }
  }

  #notify<T>(registry: Map<string, Set<WatchEntry<T>>>, target: string, current: () => State<T>): void {
    if (this.faults.unreachable || this.#closed) return
    const set = registry.get(target)
    if (!set) return
    const state = current()
    for (const entry of set) this.#deliver(entry, state, this.#resetPending)
  }

  #deliver<T>(entry: WatchEntry<T>, { value, revision }: State<T>, reset: boolean): void {
    if (!reset && entry.lastRevision !== undefined && compareRevisions(revision, entry.lastRevision) <= 0) return
    entry.lastRevision = revision
    try {
      entry.watcher.next(value, { revision, reset })
    } catch {
      // A watcher must not throw into the backend; the client's watchers catch their own.
    }
  }

  #breakWatches(error: GovernanceError): void {
    for (const set of [...this.#serviceWatchers.values(), ...this.#configWatchers.values()]) {
      for (const entry of set) entry.watcher.error(error)
    }
  }

  #redeliverAll(): void {
    for (const service of this.#serviceWatchers.keys()) this.#notify(this.#serviceWatchers, service, () => this.#serviceState(service))
    for (const key of this.#configWatchers.keys()) this.#notify(this.#configWatchers, key, () => this.#configState(key))
  }
}

/** A fresh in-memory backend; pass it as `new GovernanceClient({ backend })`. */
export function createMemoryBackend(): MemoryBackend {
  return new MemoryBackend()
}
