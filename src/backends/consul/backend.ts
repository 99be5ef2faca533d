/**
 * The Consul backend, on the agent and catalog HTTP API (see docs/backends/consul.md):
 * registration with an embedded TTL check and DeregisterCriticalServiceAfter, heartbeats
 * as check passes, discovery from /v1/health/service/:name?passing with blocking queries,
 * config in the KV store. Metrics: Consul stores none, so there is no sink.
 */
import type { Backend, BackendCapabilities, CallContext, PutConfigOptions, Unsubscribe, Watcher, WatchOptions } from '../../backend.js'
import { ClientClosedError, LeaseLostError, NotFoundError, ProtocolError, ServerError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Logger } from '../../internal/logger.js'
import { checkInstanceId, checkServiceName } from '../../registry/validate.js'
import { createTransport } from '../../transport/index.js'
import type { Transport } from '../../transport/types.js'
import { type ConfigEntry, type InstanceSpec, type Lease, type RenewResult, type ServiceSnapshot } from '../../types.js'
import { blockingStep, parseConsulIndex, type BlockingRead } from './blocking.js'
import { consulServiceId, decodeHealthEntry, encodeRegistration, ttlCheckId } from './codec.js'
import { checkConfigKey, decodeKvAnswer, deleteKv, getKv, putKv, type KvDeps } from './kv.js'
import { BackendWatches } from '../registry-common/watches.js'
import { resolveConsulOptions, type ConsulBackendOptions, type ResolvedConsulOptions } from './options.js'

const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: true,
  compareAndSet: true,
})

/** A Backend with every optional part Consul has (no metric sink: Consul stores no metrics). */
export type ConsulBackend = Backend & Required<Pick<Backend, 'listServices' | 'watchService' | 'watchConfig' | 'putConfig' | 'deleteConfig' | 'useLogger'>>

/**
 * Creates a Backend for a Consul agent.
 * @example
 * const backend = consulBackend({ url: 'http://127.0.0.1:8500', token: process.env.CONSUL_HTTP_TOKEN })
 * const gov = new GovernanceClient({ backend, service: { name: 'orders', port: 8080 } })
 */
export function consulBackend(options: ConsulBackendOptions): ConsulBackend {
  return new ConsulBackendImpl(resolveConsulOptions(options))
}

class ConsulBackendImpl implements ConsulBackend {
  readonly name = 'consul'
  readonly capabilities = CAPABILITIES
  /** One transport: blocking queries go on its held pool (`held: true`, `watchConnections` of them). */
  private readonly calls: Transport
  private readonly ownsCalls: boolean
  private readonly query: Record<string, string | undefined>
  private readonly kv: KvDeps
  private readonly watches: BackendWatches
  private closing: Promise<void> | undefined

  constructor(private readonly o: ResolvedConsulOptions) {
    this.ownsCalls = o.transport === undefined
    this.calls =
      o.transport ??
      createTransport({
        servers: o.servers,
        requestTimeoutMs: o.requestTimeoutMs,
        heldConnections: o.watchConnections,
        logger: o.logger,
        ...(o.tls === undefined ? {} : { tls: o.tls }),
        ...(o.token === undefined ? {} : { headers: { 'x-consul-token': o.token } }),
      })
    this.query = { dc: o.datacenter, ns: o.namespace }
    this.watches = new BackendWatches(o.logger, o.watchBackoff)
    this.kv = { transport: this.calls, path: (k) => kvPath(o.kvPrefix, k), rawKey: (k) => `${o.kvPrefix}${k}`, query: this.query, timeoutMs: o.requestTimeoutMs, logger: o.logger }
  }

  useLogger(logger: Logger): void {
    this.o.logger.use(logger)
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    this.checkOpen()
    checkServiceName('spec.service', spec?.service)
    checkInstanceId('spec.id', spec.id)
    let body: Record<string, unknown>
    try {
      body = encodeRegistration(spec, this.o.deregisterCriticalAfterMs)
    } catch (error) {
      // Consul's Meta limits: the caller gets the error, the log says which limit.
      this.o.logger.warn(`consul backend: registration of ${spec.service}/${spec.id} refused: ${(error as Error).message}`)
      throw error
    }
    // replace-existing-checks makes a re-registration idempotent (api-docs/agent/service.mdx).
    await this.calls.request({ method: 'PUT', path: '/v1/agent/service/register', query: { 'replace-existing-checks': 'true', ns: this.o.namespace }, body, ...callOptions(ctx, this.o) })
    return { id: consulServiceId(spec.service, spec.id), service: spec.service, instanceId: spec.id, ttlMs: spec.ttlMs }
  }

  /** A check pass; an agent that no longer knows the check lost the service (restart, reap). */
  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    this.checkOpen()
    try {
      await this.calls.request({ method: 'PUT', path: `/v1/agent/check/pass/${encodeURIComponent(ttlCheckId(lease.id))}`, query: { ns: this.o.namespace }, retry: false, ...callOptions(ctx, this.o) })
    } catch (error) {
      // Current agents answer 404 "Unknown check ID"; older ones 500 "does not have associated TTL".
      if (error instanceof NotFoundError || (error instanceof ServerError && /associated TTL/i.test(error.message))) {
        throw new LeaseLostError(`consul agent no longer holds ${lease.service}/${lease.instanceId} (check ${ttlCheckId(lease.id)}); register again`, {
          cause: error,
          details: { service: lease.service, instanceId: lease.instanceId, serviceId: lease.id },
        })
      }
      throw error
    }
    return { ttlMs: lease.ttlMs }
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    this.checkOpen()
    await this.calls.request({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(lease.id)}`, query: { ns: this.o.namespace }, ...callOptions(ctx, this.o) })
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    this.checkOpen()
    checkServiceName('service', service)
    const answer = await this.healthRead(service, undefined, ctx.signal, ctx.timeoutMs)
    return { ...answer.value, revision: parseConsulIndex(answer.index, `health of ${service}`).toString() }
  }

  /** The catalog's service names (`/v1/catalog/services`: name → tags), Consul's own `consul` included. */
  async listServices(ctx: CallContext): Promise<readonly string[]> {
    this.checkOpen()
    const answer = await this.calls.request<unknown>({ method: 'GET', path: '/v1/catalog/services', query: this.query, ...callOptions(ctx, this.o) })
    const body = answer.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ProtocolError(`consul: /v1/catalog/services answered ${describeValue(body)}, not an object of service names`)
    }
    return Object.keys(body).sort()
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    checkServiceName('service', service)
    const read: BlockingRead<ServiceSnapshot> = (index, signal) => this.healthRead(service, index, signal, undefined)
    return this.watch(`consul watch service ${service}`, read, watcher, options, (value, revision) => ({ ...value, revision }))
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    this.checkOpen()
    return getKv(this.kv, checkConfigKey(key), ctx)
  }

  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    checkConfigKey(key)
    const read: BlockingRead<ConfigEntry | undefined> = async (index, signal) => {
      const answer = await this.calls.request({ method: 'GET', path: `/v1/kv/${kvPath(this.o.kvPrefix, key)}`, query: this.blockingQuery(index), accept: [404], signal, ...this.holdOptions(index) })
      return { value: decodeKvAnswer(key, answer), index: answer.headers['x-consul-index'] }
    }
    return this.watch(`consul watch config ${key}`, read, watcher, options, (value) => value)
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    this.checkOpen()
    return putKv(this.kv, checkConfigKey(key), value, options, ctx)
  }

  async deleteConfig(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    this.checkOpen()
    return deleteKv(this.kv, checkConfigKey(key), options, ctx)
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.watches.stopAll()
      if (this.ownsCalls) await this.calls.close()
    })()
    return this.closing
  }

  private async healthRead(service: string, index: bigint | undefined, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    const answer = await this.calls.request<unknown>({
      method: 'GET',
      path: `/v1/health/service/${encodeURIComponent(service)}`,
      query: { passing: 'true', ...this.blockingQuery(index) },
      ...this.holdOptions(index),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    })
    if (!Array.isArray(answer.body)) throw new ProtocolError(`consul: /v1/health/service/${service} answered ${describeValue(answer.body)}, not an array`)
    const instances = answer.body.map((e) => decodeHealthEntry(service, e)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const index_ = answer.headers['x-consul-index']
    return { value: { service, instances, revision: index_ ?? '0' }, index: index_ }
  }

  private blockingQuery(index: bigint | undefined): Record<string, string | undefined> {
    if (index === undefined) return this.query
    return { ...this.query, index: (index <= 0n ? 1n : index).toString(), wait: `${Math.ceil(this.o.blockingWaitMs / 1000)}s` }
  }

  /**
   * A blocking query (an index given) is held: one attempt on the held pool with the whole
   * deadline, which is `wait` plus Consul's jitter (up to wait/16) plus a margin for the
   * answer's trip. Without an index it is a single call.
   */
  private holdOptions(index: bigint | undefined): { timeoutMs: number; held?: true; retry?: false } {
    if (index === undefined) return { timeoutMs: this.o.requestTimeoutMs }
    return { timeoutMs: Math.ceil(this.o.blockingWaitMs * 1.0625) + this.o.requestTimeoutMs, held: true, retry: false }
  }

  private watch<T>(name: string, read: BlockingRead<T>, watcher: Watcher<T>, options: WatchOptions | undefined, withRevision: (value: T, revision: string) => T): Unsubscribe {
    this.checkOpen()
    const step = blockingStep(name, read, watcher)
    return this.watches.start<T>({
      name,
      watcher,
      options,
      step: async (revision, signal) => {
        const result = await step(revision, signal)
        return result === undefined ? undefined : { ...result, value: withRevision(result.value, result.revision) }
      },
    })
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new ClientClosedError('the consul backend is closed')
  }
}

function callOptions(ctx: CallContext, o: ResolvedConsulOptions): { timeoutMs: number; signal?: AbortSignal } {
  return { timeoutMs: ctx.timeoutMs ?? o.requestTimeoutMs, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }
}

function kvPath(prefix: string, key: string): string {
  return `${prefix}${key}`.split('/').map(encodeURIComponent).join('/')
}
