/**
 * The Nacos backend, on Nacos's v1 HTTP open API (docs/backends/nacos.md says why v1):
 * ephemeral instances kept by light beats (code 20404: LeaseLostError, then the client
 * registers again), discovery by polling the instance list at the server's `cacheMillis`,
 * config get / publish (casMd5) / delete / the long-polling listener, namespaces, groups
 * and login with token refresh. Nacos stores no metrics.
 */
import type { Backend, BackendCapabilities, CallContext, PutConfigOptions, Unsubscribe, Watcher, WatchOptions } from '../../backend.js'
import { ClientClosedError, InvalidArgumentError, LeaseLostError, ProtocolError, ResponseTooLargeError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import type { WatchStep } from '../../internal/watch-loop.js'
import { checkInstanceId, checkServiceName } from '../../registry/validate.js'
import { createTransport } from '../../transport/index.js'
import type { Transport } from '../../transport/types.js'
import { type ConfigEntry, type InstanceSpec, type Lease, type RenewResult, type ServiceSnapshot } from '../../types.js'
import { LocalRevisions } from '../seed/revisions.js'
import { NacosCaller } from './caller.js'
import { decodeHost, encodeMetadata, parseSlotId, slotId, type Slot } from './codec.js'
import { NacosConfig, checkConfigKey } from './config.js'
import { BackendWatches, confirm } from '../registry-common/watches.js'
import { resolveNacosOptions, type NacosBackendOptions, type ResolvedNacosOptions } from './options.js'

const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: true,
  compareAndSet: true,
})

/** Nacos's code for "no such instance" in a beat answer (NamingResponseCode.RESOURCE_NOT_FOUND). */
const RESOURCE_NOT_FOUND = 20404
const DEFAULT_CACHE_MILLIS = 3_000
/** Names per page of /v1/ns/service/list. */
const SERVICE_PAGE_SIZE = 500
/** 200,000 names: a server that keeps answering full pages past this is not a registry we can list. */
const MAX_SERVICE_PAGES = 400

export type NacosBackend = Backend & Required<Pick<Backend, 'listServices' | 'watchService' | 'watchConfig' | 'putConfig' | 'deleteConfig' | 'useLogger'>>

/**
 * Creates a Backend for a Nacos server (1.x, 2.x or 3.x with its default client API switch).
 * @example
 * const backend = nacosBackend({ url: 'http://nacos:8848', namespace: 'prod', username: 'orders', password: process.env.NACOS_PASSWORD })
 */
export function nacosBackend(options: NacosBackendOptions): NacosBackend {
  return new NacosBackendImpl(resolveNacosOptions(options))
}

class NacosBackendImpl implements NacosBackend {
  readonly name = 'nacos'
  readonly capabilities = CAPABILITIES
  /** One transport: listener long polls go on its held pool (`held: true`, `watchConnections` of them). */
  private readonly transport: Transport
  private readonly caller: NacosCaller
  private readonly config: NacosConfig
  private readonly revisions = new LocalRevisions()
  /** Where each (service, id) this backend registered lives, so a moved instance leaves its old slot. */
  private readonly slots = new Map<string, Slot>()
  private readonly watches: BackendWatches
  private cacheMillis = DEFAULT_CACHE_MILLIS
  private closing: Promise<void> | undefined

  constructor(private readonly o: ResolvedNacosOptions) {
    this.transport = createTransport({ servers: o.servers, requestTimeoutMs: o.requestTimeoutMs, heldConnections: o.watchConnections, logger: o.logger, ...(o.tls === undefined ? {} : { tls: o.tls }) })
    this.watches = new BackendWatches(o.logger, o.watchBackoff)
    this.caller = new NacosCaller(this.transport, o)
    this.config = new NacosConfig(this.caller, this.revisions, { group: o.group, tenant: o.namespace === 'public' ? '' : o.namespace }, o.logger)
  }

  useLogger(logger: Logger): void {
    this.o.logger.use(logger)
  }

  private identity(service: string, slot: Slot): Record<string, string> {
    return { serviceName: service, groupName: this.o.group, namespaceId: this.o.namespace, clusterName: this.o.cluster, ip: slot.ip, port: String(slot.port) }
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    checkServiceName('spec.service', spec?.service)
    checkInstanceId('spec.id', spec.id)
    const slot: Slot = { ip: spec.address, port: spec.port }
    this.checkSlotFree(spec, slot)
    const params = {
      ...this.identity(spec.service, slot),
      weight: String(spec.weight),
      // Nacos sends no traffic to a disabled instance: anything but UP is disabled.
      enabled: String(spec.status === 'UP'),
      healthy: 'true',
      ephemeral: 'true',
      metadata: JSON.stringify(encodeMetadata(spec)),
    }
    await this.caller.call({ method: 'POST', path: '/v1/ns/instance', params, idempotent: true }, ctx)
    const key = `${spec.service}\0${spec.id}`
    const previous = this.slots.get(key)
    this.slots.set(key, slot)
    if (previous !== undefined && slotId(previous) !== slotId(slot)) {
      await this.caller.call({ method: 'DELETE', path: '/v1/ns/instance', params: { ...this.identity(spec.service, previous), ephemeral: 'true' } }, ctx)
    }
    return { id: slotId(slot), service: spec.service, instanceId: spec.id, ttlMs: spec.ttlMs }
  }

  /** Nacos identifies an instance by ip:port: a second id there would silently replace the first. */
  private checkSlotFree(spec: InstanceSpec, slot: Slot): void {
    for (const [key, held] of this.slots) {
      const [service, id] = key.split('\0') as [string, string]
      if (service === spec.service && id !== spec.id && slotId(held) === slotId(slot)) {
        const message = `nacos identifies instances by ip:port: ${spec.service} ${slotId(slot)} is already instance "${id}", so "${spec.id}" cannot register there too`
        this.o.logger.warn(`nacos backend: ${message}`)
        throw new InvalidArgumentError(message, { details: { service: spec.service, slot: slotId(slot), heldBy: id } })
      }
    }
  }

  /** A light beat (no `beat` JSON): an instance the server lost answers 20404 instead of coming back half-described. */
  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    this.checkOpen()
    const answer = await this.caller.call({ method: 'PUT', path: '/v1/ns/instance/beat', params: this.identity(lease.service, parseSlotId(lease.id)) }, ctx)
    const beat = parseJson(answer.body, 'PUT /v1/ns/instance/beat') as { code?: unknown }
    if (beat?.code === RESOURCE_NOT_FOUND) {
      throw new LeaseLostError(`nacos no longer holds ${lease.service}/${lease.instanceId} (${lease.id}); register again`, { details: { service: lease.service, instanceId: lease.instanceId } })
    }
    return { ttlMs: lease.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    this.checkOpen()
    await this.caller.call({ method: 'DELETE', path: '/v1/ns/instance', params: { ...this.identity(lease.service, parseSlotId(lease.id)), ephemeral: 'true' } }, ctx)
    this.slots.delete(`${lease.service}\0${lease.instanceId}`)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    this.checkOpen()
    checkServiceName('service', service)
    const params = { serviceName: service, groupName: this.o.group, namespaceId: this.o.namespace, clusters: '', healthyOnly: 'true', udpPort: '0' }
    const answer = await this.caller.call({ method: 'GET', path: '/v1/ns/instance/list', params }, ctx)
    const info = parseJson(answer.body, 'GET /v1/ns/instance/list') as { hosts?: unknown; cacheMillis?: unknown } | undefined
    if (typeof info !== 'object' || info === null || (info.hosts !== undefined && !Array.isArray(info.hosts))) {
      throw new ProtocolError(`nacos: GET /v1/ns/instance/list answered ${describeValue(info)}, not a ServiceInfo`)
    }
    if (typeof info.cacheMillis === 'number' && info.cacheMillis > 0) this.cacheMillis = info.cacheMillis
    const instances = ((info.hosts ?? []) as unknown[]).map((h) => decodeHost(service, h)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    return { service, instances, revision: this.revisions.observe(`service:${service}`, instances) }
  }

  /**
   * Every page of /v1/ns/service/list in the namespace and group (`{ count, doms }`). A
   * service registered while paging may shift names between pages: a Set keeps each once,
   * and paging stops at `count` or at a short page, so it always ends.
   */
  async listServices(ctx: CallContext): Promise<readonly string[]> {
    this.checkOpen()
    const names = new Set<string>()
    for (let pageNo = 1; ; pageNo++) {
      const params = { pageNo: String(pageNo), pageSize: String(SERVICE_PAGE_SIZE), namespaceId: this.o.namespace, groupName: this.o.group }
      const answer = await this.caller.call({ method: 'GET', path: '/v1/ns/service/list', params }, ctx)
      const page = parseJson(answer.body, 'GET /v1/ns/service/list') as { count?: unknown; doms?: unknown } | null
      if (typeof page !== 'object' || page === null || typeof page.count !== 'number' || !Array.isArray(page.doms) || !page.doms.every((d) => typeof d === 'string')) {
        throw new ProtocolError(`nacos: GET /v1/ns/service/list answered ${describeValue(page)}, not { count, doms: [names] }`)
      }
      for (const name of page.doms as string[]) names.add(name)
      if (page.doms.length < SERVICE_PAGE_SIZE || pageNo * SERVICE_PAGE_SIZE >= page.count) return [...names].sort()
      if (pageNo >= MAX_SERVICE_PAGES) {
        this.o.logger.warn(`nacos backend: listServices stopped after ${pageNo} pages (${names.size} names; the server counts ${page.count})`)
        throw new ResponseTooLargeError(`nacos: /v1/ns/service/list has more than ${MAX_SERVICE_PAGES * SERVICE_PAGE_SIZE} service names (the server counts ${page.count})`, { details: { count: page.count } })
      }
    }
  }

  /** Polls the instance list at the server's cacheMillis (or pollIntervalMs), as Nacos's HTTP clients do. */
  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    checkServiceName('service', service)
    return this.watch(`nacos watch service ${service}`, watcher, options, async (after, signal) => {
      if (after !== undefined) await sleep(this.o.pollIntervalMs ?? Math.max(100, this.cacheMillis), signal)
      const snap = await this.resolve(service, { signal })
      return this.changed(snap, snap.revision, after, watcher)
    })
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    this.checkOpen()
    return (await this.config.read(checkConfigKey(key), ctx)).entry
  }

  /** The long-polling listener with the content's MD5; a change is then read with a GET. */
  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    checkConfigKey(key)
    let md5: string | undefined
    return this.watch(`nacos watch config ${key}`, watcher, options, async (after, signal) => {
      if (md5 !== undefined && !(await this.listen(key, md5, signal))) {
        confirm(watcher, after)
        return undefined
      }
      const read = await this.config.read(key, { signal })
      md5 = read.md5
      return this.changed(read.entry, read.entry?.version ?? this.revisions.current(`config:${key}`) ?? '0', after, watcher)
    })
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    this.checkOpen()
    return this.config.put(checkConfigKey(key), value, options, ctx)
  }

  async deleteConfig(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    this.checkOpen()
    return this.config.delete(checkConfigKey(key), options, ctx)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watches.stopAll()
      await this.transport.close()
    })()
    return this.closing
  }

  /** One listener round: true when the server reports the key changed. */
  private async listen(key: string, md5: string, signal: AbortSignal): Promise<boolean> {
    const p = this.config.params(key)
    const record = [p.dataId, p.group, md5, ...(p.tenant === undefined ? [] : [p.tenant])].join('\x02') + '\x01'
    const answer = await this.caller.call(
      {
        method: 'POST',
        path: '/v1/cs/configs/listener',
        params: p.tenant === undefined ? {} : { tenant: p.tenant },
        form: { 'Listening-Configs': record },
        headers: { 'Long-Pulling-Timeout': String(this.o.longPollTimeoutMs) },
        // The Java client reads for timeout + timeout / 2.
        holdMs: Math.ceil(this.o.longPollTimeoutMs * 1.5),
      },
      { signal },
    )
    return (answer.body ?? '').trim() !== ''
  }

  private changed<T>(value: T, revision: string, after: string | undefined, watcher: Watcher<T>) {
    if (revision === after) {
      confirm(watcher, revision)
      return undefined
    }
    return { value, revision, reset: false }
  }

  private watch<T>(name: string, watcher: Watcher<T>, options: WatchOptions | undefined, step: WatchStep<T>): Unsubscribe {
    this.checkOpen()
    return this.watches.start<T>({ name, watcher, options, step, minEmptyStepMs: 0 })
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError('the nacos backend is closed')
  }
}

function parseJson(text: string | undefined, what: string): unknown {
  try {
    return JSON.parse(text ?? '') as unknown
  } catch {
    throw new ProtocolError(`nacos: ${what} answered something that is not JSON: ${describeValue(text)}`)
  }
}
