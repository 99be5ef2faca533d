/**
 * The Eureka backend, on Eureka's REST API with JSON payloads (docs/backends/eureka.md):
 * register, renew (a 404 means the server lost the lease: LeaseLostError, and the client
 * registers again, as Eureka clients must), cancel, status overrides for
 * OUT_OF_SERVICE, discovery from a full-then-delta registry copy reconciled with the
 * server's hash code. Eureka stores no config and no metrics.
 */
import type { Backend, BackendCapabilities, CallContext, Unsubscribe, Watcher, WatchOptions } from '../../backend.js'
import { ClientClosedError, LeaseLostError, NotFoundError, NotSupportedError, ProtocolError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Logger } from '../../internal/logger.js'
import { checkInstanceId, checkServiceName } from '../../registry/validate.js'
import { createTransport } from '../../transport/index.js'
import type { Transport } from '../../transport/types.js'
import { type ConfigEntry, type Instance, type InstanceSpec, type Lease, type RenewResult, type ServiceSnapshot } from '../../types.js'
import { LocalRevisions } from '../seed/revisions.js'
import { appName, asArray, decodeInstance, encodeInstance, sortById } from './codec.js'
import { EurekaMirror, envelope } from './mirror.js'
import { BackendWatches, confirm } from '../registry-common/watches.js'
import { resolveEurekaOptions, type EurekaBackendOptions, type ResolvedEurekaOptions } from './options.js'

const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: true,
  compareAndSet: false,
})

/** A Backend with the optional parts Eureka has: a (delta-polling) service watch. No config. */
export type EurekaBackend = Backend & Required<Pick<Backend, 'listServices' | 'watchService' | 'useLogger'>>

/**
 * Creates a Backend for a Eureka server (or several peers).
 * @example
 * const backend = eurekaBackend({ urls: ['http://eureka-1:8761/eureka', 'http://eureka-2:8761/eureka'] })
 */
export function eurekaBackend(options: EurekaBackendOptions): EurekaBackend {
  return new EurekaBackendImpl(resolveEurekaOptions(options))
}

interface Held {
  status: string
  lastDirty: number
  override: boolean
}

class EurekaBackendImpl implements EurekaBackend {
  readonly name = 'eureka'
  readonly capabilities = CAPABILITIES
  private readonly transport: Transport
  private readonly mirror: EurekaMirror
  private readonly revisions = new LocalRevisions()
  private readonly held = new Map<string, Held>()
  private readonly watches: BackendWatches
  private closing: Promise<void> | undefined

  constructor(private readonly o: ResolvedEurekaOptions) {
    this.transport = createTransport({ servers: o.servers, requestTimeoutMs: o.requestTimeoutMs, logger: o.logger, ...(o.tls === undefined ? {} : { tls: o.tls }) })
    this.watches = new BackendWatches(o.logger, o.watchBackoff)
    this.mirror = new EurekaMirror(this.transport, o.registryFetchIntervalMs, o.requestTimeoutMs, o.logger)
  }

  useLogger(logger: Logger): void {
    this.o.logger.use(logger)
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    checkServiceName('spec.service', spec?.service)
    checkInstanceId('spec.id', spec.id)
    const app = appName(spec.service)
    const id = leaseId(spec.service, spec.id)
    const lastDirty = Date.now()
    await this.transport.request({ method: 'POST', path: `/apps/${encodeURIComponent(app)}`, body: encodeInstance(spec, lastDirty), idempotent: true, ...call(ctx, this.o) })
    const previous = this.held.get(id)
    const held: Held = { status: spec.status, lastDirty, override: previous?.override ?? false }
    this.held.set(id, held)
    await this.applyOverride(app, spec.id, held, ctx)
    return { id, service: spec.service, instanceId: spec.id, ttlMs: Math.max(1, Math.ceil(spec.ttlMs / 1000)) * 1000 }
  }

  /**
   * OUT_OF_SERVICE is an override at the server (PUT …/status), so that renewals reporting
   * a status cannot undo it; leaving it deletes the override.
   */
  private async applyOverride(app: string, instanceId: string, held: Held, ctx: CallContext): Promise<void> {
    const path = `/apps/${encodeURIComponent(app)}/${encodeURIComponent(instanceId)}/status`
    if (held.status === 'OUT_OF_SERVICE') {
      await this.transport.request({ method: 'PUT', path, query: { value: 'OUT_OF_SERVICE' }, ...call(ctx, this.o) })
      held.override = true
    } else if (held.override) {
      await this.transport.request({ method: 'DELETE', path, query: { value: held.status }, accept: [404], ...call(ctx, this.o) })
      held.override = false
    }
  }

  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    this.checkOpen()
    const held = this.held.get(lease.id)
    const query = held === undefined ? {} : { status: held.status, lastDirtyTimestamp: String(held.lastDirty) }
    try {
      await this.transport.request({ method: 'PUT', path: instancePath(lease), query, retry: false, ...call(ctx, this.o) })
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new LeaseLostError(`eureka no longer holds ${appName(lease.service)}/${lease.instanceId}; register again`, { cause: error, details: { service: lease.service, instanceId: lease.instanceId } })
      }
      throw error
    }
    return { ttlMs: lease.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    this.checkOpen()
    await this.transport.request({ method: 'DELETE', path: instancePath(lease), accept: [404], ...call(ctx, this.o) })
    this.held.delete(lease.id)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    this.checkOpen()
    checkServiceName('service', service)
    const answer = await this.transport.request<{ application?: { instance?: unknown } }>({ method: 'GET', path: `/apps/${encodeURIComponent(appName(service))}`, accept: [404], ...call(ctx, this.o) })
    const raw = answer.status === 404 ? [] : asArray(answer.body?.application?.instance)
    return this.snapshot(service, raw)
  }

  /**
   * The applications of a full fetch (GET /apps) that have instances. Eureka upper-cases
   * names: they are listed lower-case, as Spring's EurekaDiscoveryClient does (resolve takes either).
   */
  async listServices(ctx: CallContext): Promise<readonly string[]> {
    this.checkOpen()
    const answer = await this.transport.request<Record<string, unknown>>({ method: 'GET', path: '/apps', ...call(ctx, this.o) })
    const names = new Set<string>()
    for (const app of asArray(envelope(answer.body, '/apps').application) as Record<string, unknown>[]) {
      if (typeof app?.name !== 'string' || app.name === '') throw new ProtocolError(`eureka: GET /apps answered an application with a malformed name: ${describeValue(app?.name)}`)
      if (asArray(app.instance).length > 0) names.add(app.name.toLowerCase())
    }
    return [...names].sort()
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    this.checkOpen()
    checkServiceName('service', service)
    const release = this.mirror.subscribe()
    try {
      return this.startWatch(service, watcher, options, release)
    } catch (error) {
      release()
      throw error
    }
  }

  private startWatch(service: string, watcher: Watcher<ServiceSnapshot>, options: WatchOptions | undefined, release: () => void): Unsubscribe {
    return this.watches.start<ServiceSnapshot>({
      name: `eureka watch service ${service}`,
      watcher,
      options,
      // Each step waits for the next fetch round by itself.
      minEmptyStepMs: 0,
      onStop: release,
      step: async (previous, signal) => {
        if (previous === undefined) await this.mirror.ready(signal)
        else await this.mirror.nextRound(signal)
        const snap = this.snapshot(service, this.mirror.instances(appName(service)))
        if (snap.revision !== previous) return { value: snap, revision: snap.revision, reset: false }
        confirm(watcher, snap.revision)
        return undefined
      },
    })
  }

  async getConfig(key: string, _ctx: CallContext): Promise<ConfigEntry | undefined> {
    this.checkOpen()
    throw new NotSupportedError(`eureka stores no config (asked for ${describeValue(key)}); use another backend for config`)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watches.stopAll()
      this.mirror.stop()
      await this.transport.close()
    })()
    return this.closing
  }

  /** Revisions are this backend's own (LocalRevisions): Eureka has none per application. */
  private snapshot(service: string, raw: unknown[]): ServiceSnapshot {
    const instances: Instance[] = sortById(raw.map((r) => decodeInstance(service, r)))
    return { service, instances, revision: this.revisions.observe(`service:${appName(service)}`, instances) }
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError('the eureka backend is closed')
  }
}

function leaseId(service: string, instanceId: string): string {
  return `${appName(service)}/${instanceId}`
}

function instancePath(lease: Lease): string {
  return `/apps/${encodeURIComponent(appName(lease.service))}/${encodeURIComponent(lease.instanceId)}`
}

function call(ctx: CallContext, o: ResolvedEurekaOptions): { timeoutMs: number; signal?: AbortSignal } {
  return { timeoutMs: ctx.timeoutMs ?? o.requestTimeoutMs, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }
}
