/**
 * An in-memory Backend for tests: the real GovernanceClient talks to it like to a server,
 * and the test controls it (instances of other services, config values) and injects
 * faults (unreachable, slow answers, errors for the next calls, malformed and empty
 * answers, lost leases, index resets, compactions). Leases expire on setTimeout, so
 * vitest's fake timers drive them.
 */
import type { Backend, BackendCapabilities, CallContext, MetricSink, PutConfigOptions, Unsubscribe, Watcher, WatchOptions } from '../backend.js'
import { ConflictError, LeaseLostError, TimeoutError } from '../errors.js'
import type { ConfigEntry, Instance, InstanceSpec, Lease, MetricBatch, RenewResult, ServiceSnapshot } from '../types.js'
import { sleep, unrefTimeout } from '../internal/timers.js'
import { FaultPlan, unreachableError, type MemoryOperation } from './fault-plan.js'
import type { EmptyScope, HeldInstance, MemoryBackendOptions, RecordedCall } from './memory-types.js'
import { WatchHub, type FeedState } from './watch-hub.js'

export type { MemoryOperation } from './fault-plan.js'
export type { EmptyScope, HeldInstance, MemoryBackendOptions, RecordedCall } from './memory-types.js'

interface StoredInstance {
  instance: Instance
  ttlMs: number | undefined
  registeredAt: number
  renewedAt: number
  timer?: NodeJS.Timeout
}

const FULL_CAPABILITIES: BackendCapabilities = {
  deregister: true,
  ttl: true,
  compareAndSet: true,
}

const byId = (a: Instance, b: Instance): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export class MemoryBackend implements Backend {
  readonly name: string = 'memory'
  readonly capabilities: BackendCapabilities = FULL_CAPABILITIES
  /** Every call the client made, in order. */
  readonly calls: RecordedCall[] = []
  /** Metric batches received by the sink from createMetricSink() (a retried batch once). */
  readonly metricBatches: MetricBatch[] = []
  readonly faults = new FaultPlan()

  #index = 1
  #services = new Map<string, Map<string, StoredInstance>>()
  #serviceIndex = new Map<string, number>()
  #config = new Map<string, ConfigEntry>()
  #configIndex = new Map<string, number>()
  #empty = { services: false, config: false }
  #closed = false
  #silent = false
  #confirmTimer: NodeJS.Timeout | undefined
  readonly #serviceFeeds: WatchHub<ServiceSnapshot>
  readonly #configFeeds: WatchHub<ConfigEntry | undefined>

  constructor(options: MemoryBackendOptions = {}) {
    const common = {
      down: () => (this.faults.unreachable ? unreachableError('a watch') : undefined),
      silent: () => this.#silent,
      reopenMs: options.watchReopenMs ?? 50,
    }
    this.#serviceFeeds = new WatchHub({ ...common, current: (s) => this.#serviceState(s), takeFault: () => this.faults.take('watchService') })
    this.#configFeeds = new WatchHub({ ...common, current: (k) => this.#configState(k), takeFault: () => this.faults.take('watchConfig') })
    if (options.confirmIntervalMs !== undefined) {
      this.#confirmTimer = setInterval(() => this.confirmWatches(), options.confirmIntervalMs)
      this.#confirmTimer.unref?.()
    }
  }

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
    return { ttlMs: stored.ttlMs ?? lease.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    await this.#enter('deregister', `${lease.service}/${lease.instanceId}`, ctx)
    this.removeInstance(lease.service, lease.instanceId)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    await this.#enter('resolve', service, ctx)
    if (!this.faults.takeEmpty('resolve')) return this.#snapshot(service)
    // Briefly lost data: nothing at a newer revision, and the real set newer still.
    const revision = String(++this.#index)
    this.#touchService(service)
    return { service, instances: [], revision }
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    this.#record('watchService', service)
    return this.#serviceFeeds.subscribe(service, watcher, options?.afterRevision)
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    await this.#enter('getConfig', key, ctx)
    if (this.faults.takeEmpty('getConfig')) return undefined
    return this.#configState(key).value
  }

  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    this.#record('watchConfig', key)
    return this.#configFeeds.subscribe(key, watcher, options?.afterRevision)
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

  async listServices(ctx: CallContext): Promise<readonly string[]> {
    await this.#enter('listServices', '*', ctx)
    return this.services()
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
    clearInterval(this.#confirmTimer)
    for (const instances of this.#services.values()) for (const s of instances.values()) clearTimeout(s.timer)
    this.#serviceFeeds.clear()
    this.#configFeeds.clear()
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

  /** The instances the "server" holds now (an empty window does not hide them). */
  instances(service: string): Instance[] {
    return [...(this.#services.get(service)?.values() ?? [])].map((s) => s.instance).sort(byId)
  }

  /** One held instance with its lease facts, or undefined. */
  held(service: string, id: string): HeldInstance | undefined {
    const s = this.#services.get(service)?.get(id)
    return s && { instance: s.instance, ttlMs: s.ttlMs, registeredAt: s.registeredAt, renewedAt: s.renewedAt }
  }

  /** Names of the services that have instances now, sorted. */
  services(): string[] {
    return [...this.#services].filter(([, m]) => m.size > 0).map(([name]) => name).sort()
  }

  /** Every stored config entry, sorted by key. */
  configEntries(): ConfigEntry[] {
    return [...this.#config.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** What resolve() would answer now, without recording a call or consuming a fault. */
  peekService(service: string): ServiceSnapshot {
    return this.#snapshot(service)
  }

  /** What getConfig() would answer now, without recording a call or consuming a fault. */
  peekConfig(key: string): ConfigEntry | undefined {
    return this.#configState(key).value
  }

  /** The registry's latest index, and the index of one service's set or config key (protocol v1 section 4). */
  revision(): string {
    return String(this.#index)
  }

  serviceRevision(service: string): string {
    return this.#serviceState(service).revision
  }

  configRevision(key: string): string {
    return this.#configState(key).revision
  }

  setConfig(key: string, value: unknown): ConfigEntry {
    const index = ++this.#index
    const entry: ConfigEntry = { key, value, version: String(index) }
    this.#config.set(key, entry)
    this.#configIndex.set(key, index)
    this.#configFeeds.notify(key)
    return entry
  }

  deleteConfigKey(key: string): boolean {
    if (!this.#config.delete(key)) return false
    this.#configIndex.set(key, ++this.#index)
    this.#configFeeds.notify(key)
    return true
  }

  /**
   * Simulates a server restart that lost the registry: every leased instance is gone and
   * every service reports index 1 again (config survives, as the protocol's server persists
   * it). Watchers learn it only from the reset (a restarted server does not announce what
   * it forgot), so they get the new state flagged `reset`.
   */
  loseAllLeases(): void {
    this.#quietly(() => {
      for (const [service, instances] of this.#services) {
        for (const [id, stored] of instances) if (stored.ttlMs !== undefined) this.removeInstance(service, id)
      }
    })
    for (const service of this.#serviceIndex.keys()) this.#serviceIndex.set(service, 1)
    if (!this.#closed) this.#serviceFeeds.notifyAll(true)
  }

  /**
   * Simulates a reset index: revisions restart low and every watcher gets its resource
   * again, flagged `reset`. Changes made by `missed` are not announced before that, as
   * changes lost across a restart.
   */
  resetIndex(missed?: () => void): void {
    this.#quietly(missed)
    this.#index = 1
    for (const service of this.#serviceIndex.keys()) this.#serviceIndex.set(service, 1)
    for (const key of this.#configIndex.keys()) this.#configIndex.set(key, 1)
    this.#announceAll(true)
  }

  /**
   * Simulates a compaction (etcd): revisions keep going, but every watcher must re-list and
   * gets its resource again flagged `reset`. Changes made by `missed` reach watchers only
   * through that re-list.
   */
  compact(missed?: () => void): void {
    this.#quietly(missed)
    this.#announceAll(true)
  }

  /** Confirms every open change feed now (`Watcher.confirmed`), as a keep-alive would; nothing while silent. */
  confirmWatches(): void {
    this.#serviceFeeds.confirmAll()
    this.#configFeeds.confirmAll()
  }

  /**
   * While on, the registry is hung, as a server frozen with SIGSTOP: feeds deliver and
   * confirm nothing, and every call waits out its deadline and fails with TimeoutError.
   * Turning it off answers every feed with its current state.
   */
  setSilent(silent: boolean): void {
    const was = this.#silent
    this.#silent = silent
    if (was && !silent) this.#announceAll(false)
  }

  /** While on, every call fails with ServerUnavailableError and watchers are told the feed broke. */
  setUnreachable(unreachable: boolean): void {
    const was = this.faults.unreachable
    this.faults.unreachable = unreachable
    if (unreachable && !was) {
      const error = unreachableError('a watch')
      this.#serviceFeeds.breakAll(error)
      this.#configFeeds.breakAll(error)
    }
    if (!unreachable && was) this.#announceAll(false)
  }

  /**
   * While on, reads answer nothing (no instances; with `config`, no config values) at newer
   * revisions, though the registry still holds everything: a server that briefly lost its
   * data. Turning it off answers the real state, newer still.
   */
  setEmpty(empty: boolean, scope: EmptyScope = { services: true }): void {
    const services = empty && (scope.services ?? false)
    const config = empty && (scope.config ?? false)
    const touchServices = services !== this.#empty.services
    const touchConfig = config !== this.#empty.config
    this.#empty = { services, config }
    if (touchServices) for (const service of this.#serviceIndex.keys()) this.#touchService(service)
    if (touchConfig) {
      for (const key of this.#configIndex.keys()) {
        this.#configIndex.set(key, ++this.#index)
        this.#configFeeds.notify(key)
      }
    }
  }

  /** How many calls of an operation were recorded. */
  count(op: MemoryOperation): number {
    return this.calls.filter((c) => c.op === op).length
  }

  /** Open change feeds (service and config watches). */
  get openWatches(): number {
    return this.#serviceFeeds.size + this.#configFeeds.size
  }

  // ---- internals ----

  async #enter(op: MemoryOperation, target: string, ctx: CallContext): Promise<void> {
    this.#record(op, target)
    if (ctx.signal?.aborted) throw ctx.signal.reason
    if (this.#silent) {
      await sleep(ctx.timeoutMs ?? 2_147_483_647, ctx.signal)
      throw new TimeoutError(`the test registry is silent (injected) and did not answer ${op} within ${ctx.timeoutMs} ms`)
    }
    const delayMs = this.faults.delayFor(op)
    // A slow answer meets the caller's deadline as it would over the network.
    if (ctx.timeoutMs !== undefined && delayMs > ctx.timeoutMs) {
      await sleep(ctx.timeoutMs, ctx.signal)
      throw new TimeoutError(`the test registry did not answer ${op} within ${ctx.timeoutMs} ms (injected delay ${delayMs} ms)`)
    }
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
    const now = Date.now()
    const stored: StoredInstance = { instance, ttlMs, registeredAt: previous?.registeredAt ?? now, renewedAt: now }
    instances.set(instance.id, stored)
    this.#arm(stored)
    if (!previous || JSON.stringify(previous.instance) !== JSON.stringify(instance)) this.#touchService(instance.service)
  }

  #arm(stored: StoredInstance): void {
    clearTimeout(stored.timer)
    stored.renewedAt = Date.now()
    if (!stored.ttlMs) return
    const { service, id } = stored.instance
    stored.timer = unrefTimeout(() => this.removeInstance(service, id), stored.ttlMs)
  }

  #touchService(service: string): void {
    this.#serviceIndex.set(service, ++this.#index)
    this.#serviceFeeds.notify(service)
  }

  #snapshot(service: string): ServiceSnapshot {
    const instances = this.#empty.services ? [] : this.instances(service)
    return { service, instances, revision: String(this.#serviceIndex.get(service) ?? 1) }
  }

  #checkVersion(key: string, ifVersion: string | undefined): void {
    if (ifVersion === undefined) return
    const current = this.#config.get(key)?.version ?? '0'
    if (current !== ifVersion) {
      throw new ConflictError(`config ${key} is at version ${current}, not ${ifVersion}`, { details: { currentVersion: current } })
    }
  }

  #serviceState(service: string): FeedState<ServiceSnapshot> {
    const value = this.#snapshot(service)
    return { value, revision: value.revision }
  }

  #configState(key: string): FeedState<ConfigEntry | undefined> {
    const value = this.#empty.config ? undefined : this.#config.get(key)
    return { value, revision: String(this.#configIndex.get(key) ?? 1) }
  }

  #quietly(changes: (() => void) | undefined): void {
    if (!changes) return
    this.#serviceFeeds.quietly(() => this.#configFeeds.quietly(changes))
  }

  #announceAll(reset: boolean): void {
    if (this.#closed) return
    this.#serviceFeeds.notifyAll(reset)
    this.#configFeeds.notifyAll(reset)
  }
}

/** A fresh in-memory backend; pass it as `new GovernanceClient({ backend })`. */
export function createMemoryBackend(options?: MemoryBackendOptions): MemoryBackend {
  return new MemoryBackend(options)
}
