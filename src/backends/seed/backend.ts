/**
 * The seed backend: speaks exactly the seed document's three Flask centers (registry,
 * monitor, config). Their protocol has no delete, no TTL, no push, no versions and one
 * instance per name; this backend does the best it can and says so once in the log.
 * See docs/backends/seed.md.
 */
import type {
  Backend,
  BackendCapabilities,
  CallContext,
  MetricSink,
  PutConfigOptions,
} from '../../backend.js'
import { ClientClosedError, ConflictError, InvalidArgumentError, LeaseLostError } from '../../errors.js'
import { replaceLogger, type Logger } from '../../internal/logger.js'
import { createTransport } from '../../transport/index.js'
import { isRevision, type ConfigEntry, type InstanceSpec, type Lease, type RenewResult, type ServiceSnapshot } from '../../types.js'
import { SeedCenter, isAbsent, preview } from './center.js'
import { createMonitorSink } from './metrics.js'
import { resolveSeedOptions, type ResolvedSeedOptions, type SeedBackendOptions } from './options.js'
import { LocalRevisions, canonicalJson } from './revisions.js'
import { decodeServiceInfo, encodeServiceInfo, tombstone } from './service-info.js'

// deregister: the center cannot delete, but the tombstone deregister() writes is honoured by
// every reader of this client (discovery skips it), so the core calls it on close().
const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: false,
  compareAndSet: false,
})

/** What the protocol cannot do, logged once per backend when it first matters. */
const NOTICES = {
  singleInstance: 'the seed registry keeps one instance per service name: another instance registering under the same name replaces this one (and this one\'s next heartbeat replaces it back)',
  deregister: 'the seed registry cannot delete: deregistration overwrites the record with a tombstone {"deregistered": true, "status": "DOWN"} that governance-client readers skip; other readers of the center still see the record (as DOWN)',
  casNotAtomic: 'the seed config center has no versions: ifVersion is checked by reading first, which is not atomic (a concurrent writer can still slip in)',
  ambiguousValue: 'a config value of exactly {"success": false} reads back as "absent" from the seed config center',
} as const

/**
 * Creates a Backend for the seed document's three centers.
 * @example
 * seedBackend({ registry: 'http://reg:8080', monitor: 'http://mon:8081', config: 'http://cfg:8082' })
 */
export function seedBackend(options: SeedBackendOptions): SeedBackend {
  return new SeedBackendImpl(resolveSeedOptions(options))
}

/**
 * A Backend with the optional parts the seed backend has (config writes, a metric sink). It
 * has no watch methods: the centers cannot push, so the client's feed engine polls resolve()
 * and getConfig(), which stay cheap and revision answers by their canonical JSON.
 */
export type SeedBackend = Backend & Required<Pick<Backend, 'putConfig' | 'createMetricSink'>>

class SeedBackendImpl implements SeedBackend {
  readonly name = 'seed'
  readonly capabilities = CAPABILITIES
  private readonly registry: SeedCenter
  private readonly monitor: SeedCenter
  private readonly config: SeedCenter
  private readonly closeTransports: () => Promise<void>
  /** What each instance registered through this backend posts as its heartbeat. */
  private readonly registered = new Map<string, Record<string, unknown>>()
  private readonly revisions = new LocalRevisions()
  private readonly noticed = new Set<keyof typeof NOTICES>()
  private closing: Promise<void> | undefined

  constructor(private readonly o: ResolvedSeedOptions) {
    const make = (url: string) => createTransport({ servers: [url], requestTimeoutMs: o.requestTimeoutMs, logger: o.logger })
    const transports = { registry: make(o.registry), monitor: make(o.monitor), config: make(o.config) }
    this.registry = new SeedCenter('registry', transports.registry, o.requestTimeoutMs)
    this.monitor = new SeedCenter('monitor', transports.monitor, o.requestTimeoutMs)
    this.config = new SeedCenter('config', transports.config, o.requestTimeoutMs)
    this.closeTransports = async () => {
      await Promise.allSettled(Object.values(transports).map((t) => t.close()))
    }
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    checkName('spec.service', spec?.service)
    checkName('spec.id', spec.id)
    const info = encodeServiceInfo(spec)
    await this.registry.post('/register', info, ctx)
    this.registered.set(slot(spec.service, spec.id), info)
    this.notice('singleInstance')
    return { id: spec.id, service: spec.service, instanceId: spec.id, ttlMs: spec.ttlMs }
  }

  /** The heartbeat re-posts the record, which also restores it after a center restart. */
  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    this.checkOpen()
    const info = this.registered.get(slot(lease.service, lease.instanceId))
    if (info === undefined) {
      throw new LeaseLostError(`seed backend holds no registration of ${lease.service}/${lease.instanceId}; register again`)
    }
    await this.registry.post('/register', info, ctx)
    return { ttlMs: lease.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    this.checkOpen()
    const key = slot(lease.service, lease.instanceId)
    const info = this.registered.get(key)
    this.registered.delete(key)
    if (info === undefined) return
    this.notice('deregister')
    // Only our own record may be tombstoned: another instance may have replaced it since.
    const current = decodeServiceInfo(lease.service, await this.registry.query(lease.service, ctx))
    if (current?.id === lease.instanceId) await this.registry.post('/register', tombstone(info), ctx)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    this.checkOpen()
    return this.readService(checkName('service', service), ctx)
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    this.checkOpen()
    return this.readConfig(checkName('config key', key), ctx)
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    this.checkOpen()
    checkName('config key', key)
    if (value === undefined) throw new InvalidArgumentError(`config "${key}" value must be JSON, got undefined`)
    const encoded = canonicalJson(value)
    if (isAbsent(JSON.parse(encoded))) this.notice('ambiguousValue')
    if (options?.ifVersion !== undefined) await this.checkVersion(key, options.ifVersion, ctx)
    await this.config.post('/update', { name: key, config_info: value }, ctx)
    const stored = JSON.parse(encoded) as unknown
    return { key, value: stored, version: this.revisions.observe(`config:${key}`, stored) }
  }

  createMetricSink(): MetricSink {
    return createMonitorSink(this.monitor)
  }

  useLogger(logger: Logger): void {
    replaceLogger(this.o.logger, logger)
  }

  close(): Promise<void> {
    this.closing ??= this.closeTransports()
    return this.closing
  }

  private async readService(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    const instance = decodeServiceInfo(service, await this.registry.query(service, ctx))
    const revision = this.revisions.observe(`service:${service}`, instance ?? null)
    return { service, instances: instance === undefined ? [] : [instance], revision }
  }

  private async readConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    const body = await this.config.query(key, ctx)
    if (isAbsent(body)) {
      this.revisions.observe(`config:${key}`, null)
      return undefined
    }
    return { key, value: body, version: this.revisions.observe(`config:${key}`, body) }
  }

  /** ifVersion against this backend's local versions; see NOTICES.casNotAtomic. */
  private async checkVersion(key: string, ifVersion: string, ctx: CallContext): Promise<void> {
    if (!isRevision(ifVersion)) throw new InvalidArgumentError(`ifVersion must be a decimal version string, got ${preview(ifVersion)}`)
    this.notice('casNotAtomic')
    const current = await this.readConfig(key, ctx)
    const version = current?.version ?? '0'
    if (version !== ifVersion) {
      throw new ConflictError(`config "${key}" is at version ${version}, not ${ifVersion}`, {
        details: { key, currentVersion: version, expectedVersion: ifVersion },
      })
    }
  }

  private notice(which: keyof typeof NOTICES): void {
    if (this.noticed.has(which)) return
    this.noticed.add(which)
    this.o.logger.warn(`seed backend: ${NOTICES[which]}`)
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError('the seed backend is closed')
  }
}

function slot(service: string, id: string): string {
  return `${service}\0${id}`
}

/** The centers accept any name; these limits only keep URLs and logs sane. */
function checkName(what: string, value: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value === '' || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidArgumentError(`${what} must be a non-empty string of at most 256 printable characters, got ${preview(value)}`)
  }
  return value
}
