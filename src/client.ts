/**
 * GovernanceClient: the facade. It wires the subsystems to one backend and one typed
 * event emitter and orders shutdown; the subsystems own their loops.
 */
import { EventEmitter } from 'eventemitter3'
import type { Dispatcher } from 'undici'
import type { Backend, MetricSink, Unsubscribe } from './backend.js'
import { createConfigClient, resolveConfigOptions, type ConfigClient } from './config/index.js'
import {
  createDiscovery,
  resolveDiscoveryOptions,
  type DiscoverOptions,
  type Discovery,
  type DiscoveryResult,
  type PickOptions,
  type ServiceChange,
  type ServiceListener,
  type ServicesOptions,
} from './discovery/index.js'
import { ClientClosedError, InvalidArgumentError, TimeoutError, toGovernanceError } from './errors.js'
import { GOVERNANCE_EVENT_NAMES, type EmitFn, type GovernanceEventName, type GovernanceEvents } from './events.js'
import { describeValue } from './internal/describe.js'
import { guardEmit } from './internal/safe-emit.js'
import { publishEvent, traceBackend } from './internal/diagnostics.js'
import type { SubsystemContext } from './internal/context.js'
import type { Logger } from './internal/logger.js'
import { settledWithin, systemClock } from './internal/timers.js'
import { createMetrics, createUpstreamRecorder, resolveMetricsOptions, type Metrics } from './metrics/index.js'
import { createRouting, resolveRoutingOptions, type RoutedRequestInit, type Routing } from './routing/index.js'
import { resolveClientOptions, type GovernanceClientOptions } from './options.js'
import {
  createRegistration,
  installSignalHandlers,
  resolveRegistryOptions,
  type Registration,
  type RegistrationState,
} from './registry/index.js'
import { createReadinessHandler, isReady, type ReadinessHandler } from './registry/readiness.js'
import type { Instance, InstanceStatus } from './types.js'

type EventListeners = { [K in GovernanceEventName]: (payload: GovernanceEvents[K]) => void }

export class GovernanceClient extends EventEmitter<EventListeners> {
  /** Counters, gauges and histograms, exported in batches. */
  readonly metrics: Metrics
  /** Live configuration: get, watch, changes, put, delete. */
  readonly config: ConfigClient
  /** The backend every call goes through. */
  readonly backend: Backend

  readonly #logger: Logger
  readonly #emit: EmitFn
  readonly #requestTimeoutMs: number
  readonly #registration: Registration
  readonly #discovery: Discovery
  readonly #routing: Routing
  readonly #uninstallSignals: (() => void) | undefined
  readonly #serviceName: string | undefined
  #closing: Promise<void> | undefined

  constructor(options: GovernanceClientOptions) {
    super()
    const resolved = resolveClientOptions(options)
    const registryOptions = resolveRegistryOptions(options)
    const discoveryOptions = resolveDiscoveryOptions(options.discovery)
    // The user-facing key stays `discovery.routing`; routing resolves it.
    const routingOptions = resolveRoutingOptions(options.discovery?.routing)
    const configOptions = resolveConfigOptions(options.config)
    const metricsOptions = resolveMetricsOptions(options.metrics === false ? { enabled: false } : options.metrics)

    this.backend = resolved.backend
    this.#logger = resolved.logger
    // Guarded once here: every subsystem emits through this one function, which never throws.
    this.#emit = guardEmit((event, payload) => this.#deliver(event, payload), resolved.logger)
    this.#requestTimeoutMs = resolved.requestTimeoutMs
    this.#serviceName = registryOptions.service?.name
    const ctx: SubsystemContext = {
      // Traced for diagnostics_channel subscribers; a plain call when there are none.
      backend: traceBackend(resolved.backend),
      emit: this.#emit,
      logger: resolved.logger,
      clock: systemClock,
      requestTimeoutMs: resolved.requestTimeoutMs,
      ...(resolved.dataDir !== undefined && { dataDir: resolved.dataDir }),
    }
    this.#registration = createRegistration(registryOptions, ctx)
    this.metrics = createMetrics(metricsOptions, {
      ...ctx,
      service: registryOptions.service?.name,
      instanceId: this.#registration.instanceId,
      sinks: metricsOptions.sinks ?? defaultSinks(resolved.backend),
    })
    this.config = createConfigClient(configOptions, ctx)
    this.#discovery = createDiscovery(discoveryOptions, {
      ...ctx,
      ...(registryOptions.service?.zone !== undefined && { localZone: registryOptions.service.zone }),
    })
    this.#routing = createRouting(routingOptions, {
      source: this.#discovery.routingSource,
      logger: resolved.logger,
      requestTimeoutMs: resolved.requestTimeoutMs,
      ...(metricsOptions.enabled && metricsOptions.upstreamMetrics && { upstream: createUpstreamRecorder(this.metrics) }),
    })
    this.#uninstallSignals = registryOptions.handleSignals
      ? installSignalHandlers(() => this.close(), resolved.logger)
      : undefined
  }

  /**
   * Adds a listener. The event must be one of the map's names and the listener a function:
   * a misspelt event would never fire, and eventemitter3 would only notice a bad listener
   * with a TypeError.
   */
  override on<T extends GovernanceEventName>(event: T, fn: EventEmitter.EventListener<EventListeners, T>, context?: unknown): this {
    checkListener('on()', event, fn)
    return super.on(event, fn, context)
  }

  override addListener<T extends GovernanceEventName>(event: T, fn: EventEmitter.EventListener<EventListeners, T>, context?: unknown): this {
    checkListener('addListener()', event, fn)
    return super.addListener(event, fn, context)
  }

  override once<T extends GovernanceEventName>(event: T, fn: EventEmitter.EventListener<EventListeners, T>, context?: unknown): this {
    checkListener('once()', event, fn)
    return super.once(event, fn, context)
  }

  /** Registers this instance and starts heartbeats; resolves once the server holds it. */
  register(options?: { wait?: boolean; signal?: AbortSignal }): Promise<void> {
    return this.#guard(() => this.#registration.register(options))
  }

  /** Removes this instance from the server now (close() also does it). */
  deregister(options?: { signal?: AbortSignal }): Promise<void> {
    return this.#guard(() => this.#registration.deregister(options))
  }

  /** Changes this instance's status at the server; discovery filters honour it. */
  setStatus(status: InstanceStatus, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#guard(() => this.#registration.setStatus(status, options))
  }

  /** Increases with every (re-)registration: fence work owned by an older registration. */
  get epoch(): number {
    return this.#registration.epoch
  }

  /**
   * True while the registration of that epoch is still the live one: check it before
   * committing work that only the current owner may do.
   */
  holdsEpoch(epoch: number): boolean {
    return this.#registration.holdsEpoch(epoch)
  }

  /** Where the registration stands: 'idle', 'registering', 'registered', 'renewing-failed', 'lost', 'closing', 'closed'. */
  get registrationState(): RegistrationState {
    return this.#registration.state
  }

  /** The status this instance reports (UP, DOWN, STARTING, OUT_OF_SERVICE). */
  get status(): InstanceStatus {
    return this.#registration.status
  }

  /** This instance's id at the server (generated once per client unless `service.id` is set). */
  get instanceId(): string {
    return this.#registration.instanceId
  }

  /** The service this client registers as (`service.name`), if it has one. */
  get serviceName(): string | undefined {
    return this.#serviceName
  }

  /** The registered instance as last stored, if registered. */
  get instance(): Instance | undefined {
    return this.#registration.instance
  }

  /**
   * True while this instance is registered, its lease held and its status UP: what a
   * readiness probe asks. False before register(), after a lost lease, once close() began.
   */
  ready(): boolean {
    return isReady(this)
  }

  /**
   * A node:http handler for a readiness endpoint (`/readyz`): 200 while ready(), 503
   * otherwise, with `{ ready, state, status }` as JSON. See docs/deploying.md.
   */
  readinessHandler(): ReadinessHandler {
    return createReadinessHandler(this)
  }

  /** The instances of a service, from the cache kept fresh by a watch. */
  discover(service: string, options?: DiscoverOptions): Promise<DiscoveryResult> {
    return this.#guard(() => this.#discovery.discover(service, options))
  }

  /** One instance of a service, chosen by the balancer. */
  pick(service: string, options?: PickOptions): Promise<Instance> {
    return this.#guard(() => this.#discovery.pick(service, options))
  }

  /** pick() without waiting: undefined while the cache is cold (or nothing is available). */
  pickSync(service: string, options?: PickOptions): Instance | undefined {
    if (this.#closing) throw new ClientClosedError('the GovernanceClient is closed')
    return this.#discovery.pickSync(service, options)
  }

  /** fetch() where a URL host that is a service name is resolved and balanced. */
  fetch(input: string | URL, init?: RoutedRequestInit): ReturnType<Routing['fetch']> {
    return this.#guard(() => this.#routing.fetch(input, init))
  }

  /**
   * A lasting subscription to a service: the listener gets its state now (`first: true`), then
   * every change with the diff, until the returned function is called. It holds the service's
   * watch (the idle sweep does not drop it). Without a listener: the same deliveries as an
   * async iterator, ended by `options.signal`, `break` or close().
   *
   * @example
   * const stop = gov.subscribe('payments', ({ instances, diff }) => pool.update(instances, diff))
   * for await (const change of gov.subscribe('payments', { signal })) log(change.diff)
   */
  subscribe(service: string, listener: ServiceListener): Unsubscribe
  subscribe(service: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<ServiceChange>
  subscribe(service: string, listenerOrOptions?: ServiceListener | { signal?: AbortSignal }): Unsubscribe | AsyncIterableIterator<ServiceChange> {
    if (this.#closing) throw new ClientClosedError('the GovernanceClient is closed')
    if (typeof listenerOrOptions === 'function') return this.#discovery.subscribe(service, listenerOrOptions)
    if (listenerOrOptions !== undefined && (typeof listenerOrOptions !== 'object' || listenerOrOptions === null)) {
      throw new InvalidArgumentError(`subscribe(): the second argument must be a listener function or { signal }, got ${describeValue(listenerOrOptions)}`)
    }
    return this.#discovery.changes(service, listenerOrOptions)
  }

  /**
   * The names of the services the registry holds now, sorted. Rejects with NotSupportedError
   * (naming the backend) when the backend cannot list services.
   *
   * @example
   * const names = await gov.services()   // ['orders', 'payments']
   */
  services(options?: ServicesOptions): Promise<string[]> {
    return this.#guard(() => this.#discovery.services(options))
  }

  /** The same routing as an undici Dispatcher (`undici.request(url, { dispatcher: gov.dispatcher })`). */
  get dispatcher(): Dispatcher {
    return this.#routing.dispatcher
  }

  /**
   * Marks the instance down, drains, deregisters, sends the last metrics, stops every
   * watch and timer, closes the backend. Idempotent; concurrent calls share one run.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  async #shutdown(): Promise<void> {
    this.#uninstallSignals?.()
    // Registration first: the drain needs the other subsystems (and metrics) still working.
    await this.#settle('registration', this.#registration.close())
    await this.#settle('metrics', this.metrics.close())
    await Promise.all([this.#settle('config', this.config.close()), this.#settle('discovery', this.#discovery.close()), this.#settle('routing', this.#routing.close())])
    // A backend is user-replaceable code: one whose close() never settles must not hang ours.
    const closing = this.#settle('backend', this.backend.close())
    if (!(await settledWithin(closing, this.#requestTimeoutMs))) {
      this.#emit('error', new TimeoutError(`closing the ${this.backend.name} backend did not finish within ${this.#requestTimeoutMs} ms; close() goes on without it`))
    }
  }

  async #settle(part: string, work: Promise<void>): Promise<void> {
    try {
      await work
    } catch (error) {
      this.#emit('error', toGovernanceError(error, `closing ${part} failed`))
    }
  }

  #guard<T>(call: () => T): T {
    if (this.#closing) {
      const error = new ClientClosedError('the GovernanceClient is closed')
      return Promise.reject(error) as T
    }
    return call()
  }

  // eventemitter3 drops an unheard 'error' silently, so an unheard one is logged instead.
  #deliver(event: GovernanceEventName, payload: unknown): void {
    publishEvent(event, payload)
    if (event === 'error' && this.listenerCount('error') === 0) {
      const error = payload as GovernanceEvents['error']
      this.#logger.error(error.message, { code: error.code })
      return
    }
    ;(this.emit as (e: string, p: unknown) => boolean)(event, payload)
  }
}

function checkListener(what: string, event: unknown, fn: unknown): void {
  if (!(GOVERNANCE_EVENT_NAMES as readonly unknown[]).includes(event)) {
    throw new InvalidArgumentError(`${what}: event must be one of ${GOVERNANCE_EVENT_NAMES.join(', ')}, got ${describeValue(event)}`)
  }
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${what}: the listener of '${String(event)}' must be a function, got ${describeValue(fn)}`)
}

function defaultSinks(backend: Backend): readonly MetricSink[] {
  return backend.createMetricSink ? [backend.createMetricSink()] : []
}
