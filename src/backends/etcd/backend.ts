/**
 * The etcd backend: registration on leases, discovery and config over ranges and watches,
 * all through etcd's v3 JSON gateway (no gRPC dependency). See docs/backends/etcd.md.
 */
import type {
  Backend,
  BackendCapabilities,
  CallContext,
  PutConfigOptions,
  Unsubscribe,
  Watcher,
  WatchOptions,
} from '../../backend.js'
import { ClientClosedError, InvalidArgumentError, LeaseLostError, RequestRejectedError, isGovernanceError } from '../../errors.js'
import { replaceLogger, type Logger } from '../../internal/logger.js'
import { createTransport } from '../../transport/index.js'
import type { Transport } from '../../transport/types.js'
import { INSTANCE_STATUSES, isRevision, type ConfigEntry, type InstanceChange, type InstanceSpec, type Lease, type RenewResult, type ServiceSnapshot } from '../../types.js'
import { TokenManager, toAuthError, type EtcdCredentials } from './auth.js'
import { describe } from './codec.js'
import { readConfig, removeConfig, writeConfig } from './config.js'
import { Gateway } from './gateway.js'
import { encodeInstance } from './instance-json.js'
import { checkConfigKey, checkInstanceId, checkServiceName } from './keys.js'
import { put, range } from './kv.js'
import { grantLease, keepAliveLease, putOnLease, revokeLease, ttlSecondsFor } from './leases.js'
import { resolveEtcdOptions, type EtcdBackendOptions, type ResolvedEtcdOptions } from './options.js'
import { countServiceInstances } from './service-names.js'
import { createStreamSource, type StreamSource } from './stream-source.js'
import { WatchHub } from './watch-hub.js'
import { BadKeyLog, renderConfig, renderSnapshot, sameConfig, sameInstances } from './views.js'
import { startRangeWatch } from './watch-stream.js'

const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: true,
  compareAndSet: true,
})

/**
 * Creates a Backend for an etcd v3 cluster (3.4 or newer) reached over its JSON gateway.
 * Options are validated now; nothing is sent until the first call.
 * @example
 * const gov = new GovernanceClient({
 *   backend: etcdBackend({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] }),
 *   service: { name: 'orders', port: 8080 },
 * })
 */
export function etcdBackend(options: EtcdBackendOptions): EtcdBackend {
  return new EtcdBackendImpl(resolveEtcdOptions(options))
}

/** A Backend with every optional capability etcd has (service listing, watches, config writes, deletes). */
export type EtcdBackend = Backend & Required<Pick<Backend, 'listServices' | 'watchService' | 'watchConfig' | 'putConfig' | 'deleteConfig'>>

class EtcdBackendImpl implements EtcdBackend {
  readonly name = 'etcd'
  readonly capabilities = CAPABILITIES
  private readonly transport: Transport
  private readonly gateway: Gateway
  private readonly streams: StreamSource
  private readonly hub: WatchHub
  /**
   * What each instance registered through this backend holds: its lease, to revoke a
   * replaced one, and the stored spec, which update() rewrites on the same lease.
   */
  private readonly held = new Map<string, HeldRegistration>()
  private readonly watches = new Set<Unsubscribe>()
  private readonly badKeys: BadKeyLog
  private closing: Promise<void> | undefined

  constructor(private readonly o: ResolvedEtcdOptions) {
    const base = { tls: o.tls, logger: o.logger, requestTimeoutMs: o.requestTimeoutMs, ...(o.breaker === undefined ? {} : { breaker: o.breaker }) }
    this.transport = o.transport ?? createTransport({ ...base, servers: o.endpoints, connections: o.connections })
    const injected = o.transport
    // Streams and their probes go to one member each: a probe must reach the stream's member.
    this.streams =
      injected === undefined
        ? createStreamSource(o.endpoints.map((endpoint) => () => createTransport({ ...base, servers: [endpoint], connections: 2 })), true)
        : createStreamSource([() => injected], false)
    this.gateway = new Gateway(this.transport, o.auth === undefined ? undefined : this.tokens(o.auth), o.requestTimeoutMs)
    this.hub = new WatchHub({
      streams: this.streams,
      headers: () => this.gateway.headers(),
      requestTimeoutMs: o.requestTimeoutMs,
      backoff: o.watchBackoff,
      logger: o.logger,
      watchesPerStream: o.watchesPerStream,
      idleMs: o.watchIdleMs,
      probeTimeoutMs: o.watchProbeTimeoutMs,
    })
    this.badKeys = new BadKeyLog(o.logger)
  }

  private tokens(credentials: EtcdCredentials): TokenManager {
    const plain = new Gateway(this.transport, undefined, this.o.requestTimeoutMs)
    return new TokenManager(credentials, async ({ username, password }) => {
      try {
        const { body } = await plain.post('/v3/auth/authenticate', { name: username, password }, {})
        if (typeof body.token !== 'string' || body.token === '') {
          throw new InvalidArgumentError(`etcd authenticated ${describe(username)} but answered no token`)
        }
        return body.token
      } catch (error) {
        throw isGovernanceError(error) ? toAuthError(error) : error
      }
    })
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    const service = checkServiceName(spec?.service, 'spec.service')
    const id = checkInstanceId(spec.id, 'spec.id')
    if (typeof spec.ttlMs !== 'number' || !Number.isFinite(spec.ttlMs) || spec.ttlMs <= 0) {
      throw new InvalidArgumentError(`spec.ttlMs must be a positive number, got ${describe(spec.ttlMs)}`)
    }
    const granted = await grantLease(this.gateway, ttlSecondsFor(spec.ttlMs), ctx)
    const registeredAt = Date.now()
    try {
      await put(this.gateway, this.o.layout.instanceKey(service, id), encodeInstance(spec, registeredAt), granted.id, ctx)
    } catch (error) {
      this.revokeQuietly(granted.id)
      throw error
    }
    const slot = `${service}/${id}`
    const previous = this.held.get(slot)?.lease
    this.held.set(slot, { lease: granted.id, spec, registeredAt })
    // The key now hangs on the new lease; the old one would only linger until it expires.
    if (previous !== undefined && previous !== granted.id) this.revokeQuietly(previous)
    return { id: granted.id, service, instanceId: id, ttlMs: granted.ttlSeconds * 1000 }
  }

  /** Rewrites the instance key on the lease it already holds: a status change grants no new lease. */
  async update(lease: Lease, change: InstanceChange, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    const leaseId = checkLeaseId(lease)
    checkChange(change)
    const slot = `${lease.service}/${lease.instanceId}`
    const held = this.held.get(slot)
    const lost = (why: string): LeaseLostError =>
      new LeaseLostError(`etcd: lease ${leaseId} of ${slot} ${why}`, { details: { service: lease.service, instanceId: lease.instanceId, lease: leaseId } })
    if (held === undefined || held.lease !== leaseId) throw lost('was not registered through this backend (or was replaced)')
    const spec: InstanceSpec = { ...held.spec, ...(change.status !== undefined && { status: change.status }), ...(change.weight !== undefined && { weight: change.weight }) }
    const key = this.o.layout.instanceKey(lease.service, lease.instanceId)
    if (!(await putOnLease(this.gateway, key, encodeInstance(spec, held.registeredAt), leaseId, ctx))) {
      throw lost('no longer holds the instance key (expired, revoked or removed)')
    }
    if (this.held.get(slot) === held) this.held.set(slot, { ...held, spec })
    return lease
  }

  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    this.checkOpen()
    const ttl = await keepAliveLease(this.gateway, checkLeaseId(lease), ctx)
    if (ttl === undefined) {
      throw new LeaseLostError(`etcd no longer holds lease ${lease.id} of ${lease.service}/${lease.instanceId} (expired or revoked)`, {
        details: { service: lease.service, instanceId: lease.instanceId, lease: lease.id },
      })
    }
    return { ttlMs: ttl * 1000 }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    this.checkOpen()
    // Revoking deletes every key attached to the lease; an unknown lease is already gone.
    await revokeLease(this.gateway, checkLeaseId(lease), ctx)
    const slot = `${lease.service}/${lease.instanceId}`
    if (this.held.get(slot)?.lease === lease.id) this.held.delete(slot)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    this.checkOpen()
    const prefix = this.o.layout.servicePrefix(checkServiceName(service))
    const read = await range(this.gateway, prefix, { prefix: true }, ctx)
    return renderSnapshot(service, prefix, read.kvs, read.revision, this.badKeys)
  }

  /** Sorted names of the services with at least one instance key (paged keys-only range). */
  async listServices(ctx: CallContext): Promise<readonly string[]> {
    this.checkOpen()
    const counts = await countServiceInstances(this.gateway, this.o.layout.allServicesPrefix, ctx)
    return [...counts.keys()].sort()
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    const prefix = this.o.layout.servicePrefix(checkServiceName(service))
    return this.watch(prefix, true, options, watcher, {
      render: (kvs, revision) => renderSnapshot(service, prefix, kvs.values(), revision, this.badKeys),
      same: sameInstances,
    })
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    this.checkOpen()
    return readConfig(this.gateway, this.o.layout.configKey(checkConfigKey(key)), key, ctx)
  }

  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    const etcdKey = this.o.layout.configKey(checkConfigKey(key))
    return this.watch(etcdKey, false, options, watcher, {
      render: (kvs) => renderConfig(key, etcdKey, kvs),
      same: sameConfig,
    })
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    this.checkOpen()
    return writeConfig(this.gateway, this.o.layout.configKey(checkConfigKey(key)), key, value, options ?? {}, ctx)
  }

  async deleteConfig(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    this.checkOpen()
    return removeConfig(this.gateway, this.o.layout.configKey(checkConfigKey(key)), key, options ?? {}, ctx)
  }

  useLogger(logger: Logger): void {
    replaceLogger(this.o.logger, logger)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const stop of [...this.watches]) stop()
      this.watches.clear()
      this.hub.close()
      await this.streams.close()
      if (this.o.transport === undefined) await this.transport.close()
    })()
    return this.closing
  }

  private watch<T>(
    key: string,
    prefix: boolean,
    options: WatchOptions | undefined,
    watcher: Watcher<T>,
    view: Pick<Parameters<typeof startRangeWatch<T>>[0], 'render' | 'same'>,
  ): Unsubscribe {
    this.checkOpen()
    const after = options?.afterRevision
    if (after !== undefined && !isRevision(after)) {
      throw new InvalidArgumentError(`afterRevision must be a decimal revision string, got ${describe(after)}`)
    }
    if (this.watches.size >= this.o.maxWatches) return this.refuseWatch(key, watcher)
    const stop = startRangeWatch({
      ...view,
      gateway: this.gateway,
      hub: this.hub,
      key,
      prefix,
      watcher,
      backoff: this.o.watchBackoff,
      requestTimeoutMs: this.o.requestTimeoutMs,
      logger: this.o.logger,
      ...(after === undefined ? {} : { afterRevision: after }),
    })
    const unsubscribe = (): void => {
      this.watches.delete(unsubscribe)
      stop()
    }
    this.watches.add(unsubscribe)
    return unsubscribe
  }

  /** Past maxWatches: an error to the watcher and a log line, never a watch that silently hears nothing. */
  private refuseWatch<T>(key: string, watcher: Watcher<T>): Unsubscribe {
    const max = this.o.maxWatches
    const error = new RequestRejectedError(`etcd backend: ${max} watches are already open (maxWatches); the watch on ${key} was not started`, {
      details: { key, maxWatches: max, limit: 'maxWatches' },
    })
    this.o.logger.warn('etcd: watch limit reached', { key, maxWatches: max })
    queueMicrotask(() => {
      try {
        watcher.error(error)
      } catch (thrown) {
        this.o.logger.error('etcd watch error listener threw', { key, error: thrown })
      }
    })
    return () => undefined
  }

  private revokeQuietly(id: string): void {
    revokeLease(this.gateway, id, {}).catch((error: unknown) => {
      this.o.logger.debug('etcd: could not revoke a replaced lease; it will expire', { lease: id, error })
    })
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError('the etcd backend is closed')
  }
}

interface HeldRegistration {
  readonly lease: string
  readonly spec: InstanceSpec
  readonly registeredAt: number
}

function checkChange(change: InstanceChange): void {
  if (typeof change !== 'object' || change === null) throw new InvalidArgumentError(`change must be an object, got ${describe(change)}`)
  if (change.status !== undefined && !INSTANCE_STATUSES.includes(change.status)) {
    throw new InvalidArgumentError(`change.status must be one of ${INSTANCE_STATUSES.join(', ')}, got ${describe(change.status)}`)
  }
  if (change.weight !== undefined && !(Number.isInteger(change.weight) && change.weight >= 0 && change.weight <= 1_000)) {
    throw new InvalidArgumentError(`change.weight must be an integer from 0 to 1000, got ${describe(change.weight)}`)
  }
}

function checkLeaseId(lease: Lease): string {
  if (typeof lease !== 'object' || lease === null || !isRevision(lease.id) || lease.id === '0') {
    throw new InvalidArgumentError(`lease.id must be an etcd lease id (a decimal string), got ${describe(lease?.id)}`)
  }
  return lease.id
}
