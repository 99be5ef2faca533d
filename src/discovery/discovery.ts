/**
 * createDiscovery: the cache of services (lru-cache, bounded), the hot paths discover() and
 * pickSync(), the idle sweep, and the seam routing builds on. Each cached service is a ServiceEntry kept fresh by
 * its own feed engine (src/feed/); this file only finds entries, enforces the staleness contract and wires parts.
 */
import { LRUCache } from 'lru-cache'
import { ClientClosedError, InvalidArgumentError, NoAvailableInstanceError, ServerUnavailableError, toGovernanceError } from '../errors.js'
import type { EmitFn } from '../events.js'
import { SnapshotWriter } from '../feed/snapshot-writer.js'
import { readSnapshot, renderSnapshot, snapshotPath } from './disk.js'
import { ServiceEntry } from './entry.js'
import type { ResolvedDiscoveryOptions } from './options.js'
import { buildSelection, hasSelection, type Selection } from './select.js'
import { SelectionMemo } from './selection-memo.js'
import { InstanceStats } from '../balancer/stats.js'
import type { DiscoverOptions, Discovery, DiscoveryContext, DiscoveryResult, PickOptions } from './types.js'
import type { RoutingSource } from '../routing/types.js'
import type { Instance } from '../types.js'
import type { PickContext } from '../balancer/types.js'
import { withSignal } from './signal.js'
import { checkCallShape } from './select.js'
import { SERVICE_NAME_PATTERN } from '../internal/names.js'
import { describeValue } from '../internal/describe.js'
import { CallbackSubscriber, SubscriptionStream, type ServiceChange, type ServiceListener, type Subscriber } from './subscriptions.js'
import { listServices, type ServicesOptions } from './services.js'
import type { Unsubscribe } from '../backend.js'

interface Cached {
  readonly entry: ServiceEntry
  diskTried: boolean
  loading: Promise<void> | undefined
}

export function createDiscovery(options: ResolvedDiscoveryOptions, ctx: DiscoveryContext): Discovery {
  return new ServiceDiscovery(options, ctx)
}

class ServiceDiscovery implements Discovery {
  readonly routingSource: RoutingSource
  readonly #o: ResolvedDiscoveryOptions
  readonly #ctx: DiscoveryContext
  readonly #cache: LRUCache<string, Cached>
  /** The same entries by name, for pickSync: a Map lookup is cheaper than an LRU get. */
  readonly #index = new Map<string, Cached>()
  /** Selections by options content; discover() and pick() differ in their default zone. */
  readonly #discoverMemo = new SelectionMemo()
  readonly #pickMemo = new SelectionMemo()
  readonly #defaultPick: Selection
  readonly #emit: EmitFn
  /** Every service's snapshot file: one write at a time per file, the newest state wins. */
  readonly #writer: SnapshotWriter
  readonly #subscribers = new Set<Subscriber>()
  #sweeper: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined

  constructor(options: ResolvedDiscoveryOptions, ctx: DiscoveryContext) {
    this.#o = options
    this.#ctx = ctx
    this.#emit = ctx.emit
    // Once per failing streak of a file: a full or read-only disk must not flood the log.
    this.#writer = new SnapshotWriter((error, path) => ctx.logger.warn('discovery: writing the snapshot failed', { path, error }))
    this.#defaultPick = { key: '', filter: options.defaultFilter, zone: ctx.localZone, balancer: options.defaultBalancer }
    this.#cache = new LRUCache<string, Cached>({
      max: options.cacheSize,
      dispose: (cached, service) => this.#dispose(service, cached),
    })
    this.routingSource = this.#routingSource()
    if (options.idleWatchMs > 0) {
      const every = Math.min(60_000, Math.max(1_000, Math.floor(options.idleWatchMs / 4)))
      this.#sweeper = setInterval(() => this.#sweep(), every)
      this.#sweeper.unref?.()
    }
  }

  // ---- hot paths ----

  discover(service: string, options?: DiscoverOptions): Promise<DiscoveryResult> {
    if (options === undefined) {
      const cached = this.#cache.get(service)
      if (cached !== undefined) {
        cached.entry.touch()
        const hit = cached.entry.fastPromise
        if (hit !== undefined) return hit
      }
      return this.#discoverSlow(service, undefined)
    }
    return this.#discoverWithOptions(service, options)
  }

  /** `context` is routing's (a retry's excluded instances, a hash key); the public surface passes none. */
  pickSync(service: string, options?: PickOptions, context?: PickContext): Instance | undefined {
    const cached = this.#index.get(service)
    if (cached === undefined) return undefined
    const entry = cached.entry
    if (entry.view === undefined) return undefined
    entry.touch()
    if (!entry.fresh && entry.ageMs() > (options?.staleIfErrorMs ?? this.#o.staleIfErrorMs)) return undefined
    if (options === undefined) return entry.pick(undefined, context)
    // The common literal matches the last selection in one walk; anything else takes #selection.
    let selection = this.#pickMemo.lastIfOnlySelection(options, true)
    if (selection === undefined) {
      try {
        selection = this.#selection(options, true)
      } catch (error) {
        this.#ctx.logger.warn('discovery: pickSync ignored bad options', { service, error })
        return undefined
      }
    }
    // The options bag carries the call's hash key: it is a PickContext as it stands (no allocation).
    return entry.pick(selection, context ?? (options.hashKey === undefined ? undefined : options))
  }

  pick(service: string, options?: PickOptions, context?: PickContext): Promise<Instance> {
    // A signal that is aborted (or is no signal) takes the slow path, which rejects: api.md
    // has an abort rethrow its reason even when the cache could answer at once.
    const signal = options?.signal
    if (signal !== undefined && (!(signal instanceof AbortSignal) || signal.aborted)) return this.#pickSlow(service, options, context)
    const instance = this.pickSync(service, options, context)
    return instance !== undefined ? Promise.resolve(instance) : this.#pickSlow(service, options, context)
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  // ---- subscriptions ----

  subscribe(service: string, listener: ServiceListener): Unsubscribe {
    if (typeof listener !== 'function') throw new InvalidArgumentError(`subscribe(): the listener must be a function, got ${describeValue(listener)}`)
    const subscriber = new CallbackSubscriber(listener, (error) => {
      this.#ctx.logger.warn('discovery: a subscribe() listener threw', { service, error })
      this.#emit('error', toGovernanceError(error, `a subscribe() listener of ${service} threw`))
    })
    return this.#attach(service, subscriber, 'subscribe()')
  }

  changes(service: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<ServiceChange> {
    const signal = options?.signal
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new InvalidArgumentError(`subscribe(): signal must be an AbortSignal, got ${describeValue(signal)}`)
    let detach: Unsubscribe | undefined
    const onAbort = (): void => stream.end()
    const stream = new SubscriptionStream(() => {
      detach?.()
      signal?.removeEventListener('abort', onAbort)
    })
    detach = this.#attach(service, stream, 'subscribe()')
    if (signal?.aborted) stream.end()
    else signal?.addEventListener('abort', onAbort, { once: true })
    return stream
  }

  services(options?: ServicesOptions): Promise<string[]> {
    if (this.#closing) return Promise.reject(new ClientClosedError('discovery is closed'))
    return listServices(this.#ctx.backend, this.#ctx.requestTimeoutMs, options?.signal)
  }

  /** Holds the service's entry (and watch) for the subscriber; the first state follows in a microtask. */
  #attach(service: string, subscriber: Subscriber, what: string): Unsubscribe {
    const { cached } = this.#prepare(service, undefined, false, what)
    let detached = false
    let off: (() => void) | undefined
    this.#subscribers.add(subscriber)
    queueMicrotask(() => {
      if (detached) return
      off = cached.entry.subscribe(subscriber)
      // A cold entry: its first state reaches the subscriber when it lands (the feed retries until it does).
      if (cached.entry.view === undefined) void (cached.loading ??= this.#load(cached))
    })
    return () => {
      if (detached) return
      detached = true
      off?.()
      this.#subscribers.delete(subscriber)
      subscriber.end()
    }
  }

  /**
   * The fast path for options that need no freshness check of their own: a literal such as
   * `{ status: 'any' }` costs a shape check and a memo lookup. Anything else, a bad option
   * included, takes the slow path, which checks again and rejects with the typed error.
   */
  #discoverWithOptions(service: string, options: DiscoverOptions): Promise<DiscoveryResult> {
    const cached = this.#cache.get(service)
    if (cached === undefined || cached.entry.fastPromise === undefined) return this.#discoverSlow(service, options)
    try {
      checkCallShape('discover()', options, false)
      // An entry on the fast path is fresh within the default maxStalenessMs; a tighter bound or an aborted signal is the slow path's.
      const maxStale = options.maxStalenessMs
      if ((maxStale !== undefined && maxStale < this.#o.maxStalenessMs) || options.signal?.aborted === true) return this.#discoverSlow(service, options)
      const selection = hasSelection(options) ? this.#selection(options, false) : undefined
      cached.entry.touch()
      return cached.entry.resultPromise(selection)
    } catch {
      return this.#discoverSlow(service, options)
    }
  }

  // ---- slow paths ----

  async #discoverSlow(service: string, options: DiscoverOptions | undefined): Promise<DiscoveryResult> {
    const { cached, selection } = this.#prepare(service, options, false)
    await this.#ensureFresh(cached, options)
    return cached.entry.result(selection)
  }

  async #pickSlow(service: string, options: PickOptions | undefined, context: PickContext | undefined): Promise<Instance> {
    const { cached, selection } = this.#prepare(service, options, true)
    await this.#ensureFresh(cached, options)
    const instance = cached.entry.pick(selection, context ?? (options?.hashKey === undefined ? undefined : options))
    if (instance !== undefined) return instance
    const total = cached.entry.view?.snapshot.instances.length ?? 0
    throw new NoAvailableInstanceError(`no available instance of service ${service} (${total} registered, none passes the filters)`, {
      details: { service, registered: total },
    })
  }

  /** Validates a call and finds (or creates) its entry. Throws InvalidArgumentError / ClientClosedError. */
  #prepare(service: string, options: DiscoverOptions | PickOptions | undefined, forPick: boolean, what = forPick ? 'pick()' : 'discover()'): { cached: Cached; selection: Selection | undefined } {
    if (this.#closing) throw new ClientClosedError('discovery is closed')
    // The protocol's name rule, as registration applies it: a name no server can hold would
    // otherwise get a cache entry and a feed retrying a doomed call in the background.
    if (typeof service !== 'string' || !SERVICE_NAME_PATTERN.test(service)) {
      throw new InvalidArgumentError(`${what}: service must be a service name matching ${SERVICE_NAME_PATTERN.source}, got ${describeValue(service)}`, {
        details: { service: typeof service === 'string' ? service.slice(0, 128) : undefined },
      })
    }
    checkCallShape(what, options, forPick)
    options?.signal?.throwIfAborted()
    const selection = options !== undefined && hasSelection(options) ? this.#selection(options, forPick) : undefined
    let cached = this.#cache.get(service)
    if (cached === undefined) {
      cached = this.#create(service)
      this.#cache.set(service, cached)
      this.#index.set(service, cached)
    }
    cached.entry.touch()
    return { cached, selection }
  }

  /** The staleness contract: refresh ahead of maxStalenessMs, wait past it, serve stale up to staleIfErrorMs. */
  async #ensureFresh(cached: Cached, options: DiscoverOptions | PickOptions | undefined): Promise<void> {
    const { entry } = cached
    if (entry.view === undefined) {
      await withSignal((cached.loading ??= this.#load(cached)), options?.signal)
      if (entry.view === undefined) throw entry.lastError ?? new ServerUnavailableError(`discovery of ${entry.service} failed`)
    }
    const maxStale = options?.maxStalenessMs ?? this.#o.maxStalenessMs
    const staleIfError = options?.staleIfErrorMs ?? this.#o.staleIfErrorMs
    let age = entry.ageMs()
    // During an outage the failure is known: serve stale (up to staleIfErrorMs) rather than
    // hold every caller for a refresh that a hung server answers only at its deadline.
    if (age > maxStale && !entry.outage) {
      await withSignal(entry.refresh(), options?.signal)
      age = entry.ageMs()
    } else if (age > maxStale - Math.min(this.#o.refreshAheadMs, maxStale / 2)) {
      void entry.refresh()
    }
    if (entry.outage && age > staleIfError) {
      throw new ServerUnavailableError(
        `discovery of ${entry.service}: the server cannot be reached and the last snapshot is ${Math.round(age)} ms old (staleIfErrorMs ${staleIfError})`,
        { cause: entry.lastError, details: { service: entry.service, ageMs: age } },
      )
    }
  }

  /** A cold entry: ask the server; when it cannot answer, fall back to the snapshot on disk. */
  async #load(cached: Cached): Promise<void> {
    try {
      await cached.entry.refresh()
      if (cached.entry.view !== undefined || cached.diskTried || this.#ctx.dataDir === undefined) return
      cached.diskTried = true
      const path = snapshotPath(this.#ctx.dataDir, cached.entry.service)
      if (path === undefined) return
      try {
        const stored = await readSnapshot(path, cached.entry.service)
        if (stored !== undefined) cached.entry.acceptDisk(stored.snapshot, stored.savedAt)
      } catch (error) {
        this.#ctx.logger.warn('discovery: ignoring an unreadable snapshot file', { path, error: toGovernanceError(error).message })
      }
    } finally {
      cached.loading = undefined
    }
  }

  /** pick() prefers the local zone unless told otherwise; discover() applies a zone only when asked. */
  #selection(options: DiscoverOptions | PickOptions, forPick: boolean): Selection {
    const memo = forPick ? this.#pickMemo : this.#discoverMemo
    const last = memo.lastIfOnlySelection(options, forPick)
    if (last !== undefined) return last
    const same = memo.get(options)
    if (same !== undefined) {
      // The selection fields match a validated bag's: the rest of this one is checked here.
      checkCallShape(forPick ? 'pick()' : 'discover()', options, forPick)
      return same
    }
    const zone = forPick ? this.#ctx.localZone : undefined
    return memo.set(options, buildSelection(options, this.#o.defaultFilter, zone, this.#o.defaultBalancer, forPick))
  }

  #create(service: string): Cached {
    const now = (): number => this.#ctx.clock.now()
    const path = this.#ctx.dataDir === undefined ? undefined : snapshotPath(this.#ctx.dataDir, service)
    const writer = this.#writer
    const entry = new ServiceEntry(service, {
      options: this.#o,
      backend: this.#ctx.backend,
      requestTimeoutMs: this.#ctx.requestTimeoutMs,
      emit: this.#emit,
      logger: this.#ctx.logger,
      now,
      random: Math.random,
      defaultPick: this.#defaultPick,
      persist: path === undefined ? undefined : ((snapshot) => writer.save(path, () => renderSnapshot(snapshot, now()), `the discovery snapshot of ${service}`)),
    })
    return { entry, diskTried: false, loading: undefined }
  }

  #dispose(service: string, cached: Cached): void {
    if (this.#index.get(service) === cached) this.#index.delete(service)
    const subscribed = cached.entry.subscriberCount
    if (subscribed > 0 && !this.#closing) {
      const error = new InvalidArgumentError(
        `discovery: service ${service} left the cache (cacheSize ${this.#o.cacheSize}) while subscribed; its ${subscribed} subscription(s) end. Raise discovery.cacheSize.`,
        { details: { service, cacheSize: this.#o.cacheSize } },
      )
      this.#ctx.logger.warn(error.message)
      this.#emit('error', error)
    }
    // Ends its subscriptions and its feed; a pending disk write still lands (close() flushes).
    cached.entry.close()
  }

  /** Refreshes LRU recency for services used through pickSync and drops the idle ones. */
  #sweep(): void {
    const now = this.#ctx.clock.now()
    for (const [service, cached] of this.#index) {
      const use = cached.entry.sweep(now, this.#o.idleWatchMs)
      if (use === 'used') {
        this.#cache.get(service)
      } else if (use === 'idle') {
        this.#ctx.logger.debug('discovery: dropping an idle service', { service })
        this.#cache.delete(service)
      }
    }
  }

  #routingSource(): RoutingSource {
    return {
      pickSync: (service, context) => this.pickSync(service, undefined, context),
      pick: (service, context) => this.pick(service, undefined, context),
      // An entry evicted meanwhile: the request is still counted, on a record nobody keeps.
      statsOf: (service, instance) => this.#index.get(service)?.entry.stats.of(instance) ?? new InstanceStats(instance),
    }
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#sweeper)
    for (const subscriber of [...this.#subscribers]) subscriber.end()
    // clear() disposes every entry: feeds and timers stop, pending disk writes are collected.
    this.#cache.clear()
    this.#index.clear()
    await this.#writer.flush()
  }
}
