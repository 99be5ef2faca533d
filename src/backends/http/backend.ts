/**
 * The default backend: protocol v1 (docs/protocol.md) over the package's transport.
 * Single calls map one-to-one onto the protocol's routes; watches are blocking queries
 * driven by the shared watch loop.
 */
import type {
  Backend,
  BackendCapabilities,
  CallContext,
  MetricSink,
  PutConfigOptions,
  Unsubscribe,
  WatchOptions,
  Watcher,
} from '../../backend.js'
import { ClientClosedError, ConflictError, InvalidArgumentError, LeaseLostError } from '../../errors.js'
import { replaceLogger, type Logger } from '../../internal/logger.js'
import { startWatchLoop, type WatchLoopHandle, type WatchStep } from '../../internal/watch-loop.js'
import type { RequestOptions, TransportResponse } from '../../transport/types.js'
import { isRevision, type ConfigEntry, type InstanceSpec, type Lease, type MetricBatch, type RenewResult, type ServiceSnapshot } from '../../types.js'
import * as decode from './decode.js'
import { checkConfigKey, checkInstanceId, checkService } from './names.js'
import { formatWait, resolveHttpBackendOptions, type HttpBackendOptions, type ResolvedHttpBackendOptions } from './options.js'
import { configStep, confirming, serviceStep, type BlockingReads, type IndexedState } from './watch.js'
import { MuxClient } from './mux-client.js'
import { ConfigWatchEntry, ServiceEntry, type MuxEntry } from './mux-entry.js'

const CAPABILITIES: BackendCapabilities = Object.freeze({
  deregister: true,
  ttl: true,
  compareAndSet: true,
})

const seg = encodeURIComponent
const servicePath = (service: string): string => `/v1/services/${seg(checkService(service))}`
const instancePath = (service: string, id: string): string => `${servicePath(service)}/instances/${seg(checkInstanceId(id))}`
const configPath = (key: string): string => `/v1/config/${seg(checkConfigKey(key))}`

/** Creates the protocol v1 backend. Options are validated now; nothing connects until the first call. */
export function httpBackend(options: HttpBackendOptions): Backend {
  return new HttpBackend(resolveHttpBackendOptions(options))
}

class HttpBackend implements Backend, BlockingReads {
  readonly name = 'http'
  readonly capabilities = CAPABILITIES
  private readonly watches = new Set<WatchLoopHandle>()
  private closing: Promise<void> | undefined
  /** Every watch on one stream when the server offers it (made on the first watch). */
  private mux: MuxClient | undefined

  constructor(private readonly options: ResolvedHttpBackendOptions) {}

  /** One protocol call; `source` names it in decode errors. */
  private async call<T = unknown>(request: RequestOptions): Promise<{ res: TransportResponse<T>; source: decode.Source }> {
    if (this.closing) throw new ClientClosedError(`http backend: ${request.method} ${request.path} after close()`)
    const res = await this.options.transport.request<T>(request)
    return { res, source: `${request.method} ${res.server}${request.path}` }
  }

  private ctx(ctx: CallContext | undefined): Pick<RequestOptions, 'signal' | 'timeoutMs'> {
    return { ...(ctx?.signal && { signal: ctx.signal }), ...(ctx?.timeoutMs !== undefined && { timeoutMs: ctx.timeoutMs }) }
  }

  async register(spec: InstanceSpec, ctx: CallContext): Promise<Lease> {
    const body = {
      address: spec.address,
      port: spec.port,
      ttlMs: spec.ttlMs,
      status: spec.status,
      metadata: spec.metadata,
      tags: spec.tags,
      weight: spec.weight,
      ...(spec.zone !== undefined && { zone: spec.zone }),
    }
    const path = instancePath(spec.service, spec.id)
    const { res, source } = await this.call({ method: 'PUT', path, body, ...this.ctx(ctx) })
    const answer = decode.registerAnswer(source, res.body, spec.service, spec.id)
    return { id: spec.id, service: spec.service, instanceId: spec.id, ttlMs: answer.ttlMs }
  }

  async renew(lease: Lease, ctx: CallContext): Promise<RenewResult> {
    const path = `${instancePath(lease.service, lease.instanceId)}/heartbeat`
    const { res, source } = await this.call({ method: 'PUT', path, accept: [404], ...this.ctx(ctx) })
    if (res.status === 404) {
      throw new LeaseLostError(`${source}: the server no longer holds instance ${lease.instanceId} of ${lease.service}`, {
        status: 404,
        details: { service: lease.service, instanceId: lease.instanceId, server: res.server },
      })
    }
    return decode.renewAnswer(source, res.body)
  }

  async deregister(lease: Lease, ctx: CallContext): Promise<void> {
    const path = instancePath(lease.service, lease.instanceId)
    const { res, source } = await this.call({ method: 'DELETE', path, ...this.ctx(ctx) })
    decode.deregisterAnswer(source, res.body)
  }

  async resolve(service: string, ctx: CallContext): Promise<ServiceSnapshot> {
    const { res, source } = await this.call({ method: 'GET', path: servicePath(service), ...this.ctx(ctx) })
    return decode.serviceList(source, res.body, service)
  }

  async listServices(ctx: CallContext): Promise<readonly string[]> {
    const { res, source } = await this.call({ method: 'GET', path: '/v1/services', ...this.ctx(ctx) })
    return decode.serviceNames(source, res.body)
  }

  async getConfig(key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
    return (await this.readConfigOnce(key, this.ctx(ctx))).value
  }

  async putConfig(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    if (value === undefined) throw new InvalidArgumentError(`putConfig("${key}"): value must be JSON (null is fine), got undefined`)
    const ifVersion = checkIfVersion(key, options?.ifVersion)
    const { res, source } = await this.call({
      method: 'PUT',
      path: configPath(key),
      body: ifVersion === undefined ? { value } : { value, ifVersion },
      accept: [409],
      // A compare-and-set repeated after a lost answer would report its own write as a conflict.
      idempotent: ifVersion === undefined,
      ...this.ctx(ctx),
    })
    if (res.status === 409) throw conflict(source, key, ifVersion, res.body)
    const { index: _index, ...entry } = decode.configEntry(source, res.body, key)
    return entry
  }

  async deleteConfig(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    const ifVersion = checkIfVersion(key, options?.ifVersion)
    const { res, source } = await this.call({
      method: 'DELETE',
      path: configPath(key),
      query: { ifVersion },
      accept: [404, 409],
      idempotent: ifVersion === undefined,
      ...this.ctx(ctx),
    })
    if (res.status === 404) return false
    if (res.status === 409) throw conflict(source, key, ifVersion, res.body)
    return decode.deleteAnswer(source, res.body)
  }

  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe {
    checkService(service)
    if (this.options.watchMux) return this.muxClient().add(new ServiceEntry(service, watcher, this.checkAfter(`http watch service ${service}`, options)))
    return this.watch(`http watch service ${service}`, serviceStep(this, service), watcher, options)
  }

  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>, options?: WatchOptions): Unsubscribe {
    checkConfigKey(key)
    if (this.options.watchMux) return this.muxClient().add(new ConfigWatchEntry(key, watcher, this.checkAfter(`http watch config ${key}`, options)))
    return this.watch(`http watch config ${key}`, configStep(this, key), watcher, options)
  }

  private checkAfter(name: string, options: WatchOptions | undefined): string | undefined {
    if (this.closing) throw new ClientClosedError(`${name}: the http backend is closed`)
    const after = options?.afterRevision
    if (after !== undefined && !isRevision(after)) {
      throw new InvalidArgumentError(`${name}: afterRevision must be a decimal string, got ${JSON.stringify(after)}`)
    }
    return after
  }

  private muxClient(): MuxClient {
    return (this.mux ??= new MuxClient({
      targets: this.options.muxTargets(),
      keepAliveMs: this.options.watchKeepAliveMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      logger: this.options.logger,
      fallback: (entry) => this.fallbackWatch(entry),
    }))
  }

  /** A watch the stream cannot carry: today's blocking-query loop, resuming from the entry's index. */
  private fallbackWatch(entry: MuxEntry): Unsubscribe {
    const after = entry.index === undefined ? undefined : { afterRevision: entry.index }
    if (entry instanceof ServiceEntry) return this.watch(`http watch service ${entry.name}`, serviceStep(this, entry.name), entry.watcher, after)
    return this.watch(`http watch config ${entry.name}`, configStep(this, entry.name), entry.watcher, after)
  }

  private watch<T>(name: string, step: WatchStep<T>, watcher: Watcher<T>, options: WatchOptions | undefined): Unsubscribe {
    if (this.closing) throw new ClientClosedError(`${name}: the http backend is closed`)
    const after = options?.afterRevision
    if (after !== undefined && !isRevision(after)) {
      throw new InvalidArgumentError(`${name}: afterRevision must be a decimal string, got ${JSON.stringify(after)}`)
    }
    // An unchanged answer is a confirmation from the server: freshness counts from it.
    const confirmed = confirming(step, watcher, this.options.logger)
    const handle = startWatchLoop({ name, step: confirmed, watcher, logger: this.options.logger, ...(after !== undefined && { afterRevision: after }) })
    this.watches.add(handle)
    void handle.done.then(() => this.watches.delete(handle))
    return handle
  }

  /**
   * The request options of a read that may block: the server holds it up to `wait` (+1/16
   * jitter). It is held (a connection budget apart from unary calls), and no answer by
   * wait × 17/16 + grace means a dead connection: the transport aborts it and marks the
   * server failed, and the watch loop's next step goes to another.
   */
  private blocking(after: string | undefined, signal: AbortSignal): Pick<RequestOptions, 'query' | 'timeoutMs' | 'signal' | 'held'> {
    if (after === undefined) return { signal }
    const wait = this.options.watchWaitMs
    return { query: { index: after, wait: formatWait(wait) }, timeoutMs: wait + Math.ceil(wait / 16) + this.options.watchGraceMs, signal, held: true }
  }

  async listService(service: string, after: string | undefined, signal: AbortSignal): Promise<IndexedState<ServiceSnapshot>> {
    const { res, source } = await this.call({ method: 'GET', path: servicePath(service), ...this.blocking(after, signal) })
    const snapshot = decode.serviceList(source, res.body, service)
    return { value: snapshot, index: snapshot.revision }
  }

  async readConfig(key: string, after: string | undefined, signal: AbortSignal): Promise<IndexedState<ConfigEntry | undefined>> {
    return this.readConfigOnce(key, this.blocking(after, signal))
  }

  private async readConfigOnce(
    key: string,
    extra: Pick<RequestOptions, 'query' | 'timeoutMs' | 'signal' | 'held'>,
  ): Promise<IndexedState<ConfigEntry | undefined>> {
    const { res, source } = await this.call({ method: 'GET', path: configPath(key), accept: [404], ...extra })
    if (res.status === 404) return { value: undefined, index: decode.missingKeyIndex(source, res.body, res.headers['x-governance-index']) }
    const { index, ...entry } = decode.configEntry(source, res.body, key)
    return { value: entry, index }
  }

  createMetricSink(): MetricSink {
    return {
      name: 'http',
      export: async (batch: MetricBatch, ctx: CallContext): Promise<void> => {
        // Safe to repeat: the server drops a batchId it has already applied.
        const { res, source } = await this.call({ method: 'POST', path: '/v1/metrics', body: batch, idempotent: true, ...this.ctx(ctx) })
        decode.metricsAnswer(source, res.body, res.status)
      },
    }
  }

  useLogger(logger: Logger): void {
    replaceLogger(this.options.logger, logger)
  }

  close(): Promise<void> {
    if (this.closing) return this.closing
    for (const stop of this.watches) stop()
    const watchesDone = Promise.all([...[...this.watches].map((w) => w.done), this.mux?.close()])
    this.closing = watchesDone.then(() => (this.options.ownsTransport ? this.options.transport.close() : undefined))
    return this.closing
  }
}

function checkIfVersion(key: string, ifVersion: unknown): string | undefined {
  if (ifVersion === undefined) return undefined
  if (!isRevision(ifVersion)) throw new InvalidArgumentError(`config "${key}": ifVersion must be a decimal string, got ${JSON.stringify(ifVersion)}`)
  return ifVersion
}

function conflict(source: decode.Source, key: string, ifVersion: string | undefined, body: unknown): ConflictError {
  const currentVersion = decode.conflictVersion(source, body)
  const stored = currentVersion === '0' ? 'the key does not exist' : `its version is ${currentVersion}`
  return new ConflictError(`${source}: config "${key}" was not written: expected version ${ifVersion ?? '(any)'}, but ${stored}`, {
    status: 409,
    details: { key, ifVersion, currentVersion },
  })
}
