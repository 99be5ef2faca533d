/**
 * One cached service, the discovery domain over one followed key: the snapshot served and the
 * staleness contract's view of it, empty protection, the per-selection results and pickers
 * built from it, the per-instance stats and the ejection state of its balancers. The feed
 * engine (src/feed/) follows the service (read, watch or poll, revision order, outage and
 * recovery, the silence watchdog); this class turns its news into views and events. Nothing
 * here is writable from outside; what the hot paths read is one private field behind a getter.
 */
import { ejectionOf, OutlierDetector, withEjection, type EjectionHost } from '../balancer/outlier-ejection.js'
import type { ResolvedOutlierOptions } from '../balancer/outlier-options.js'
import { StatsTable } from '../balancer/stats.js'
import type { Balancer, PickContext, Picker } from '../balancer/types.js'
import { EMPTY_PICKER } from '../balancer/types.js'
import type { GovernanceError } from '../errors.js'
import type { EmitFn, SnapshotSource } from '../events.js'
import { MIN_SILENCE_MS, type Feed } from '../feed/feed.js'
import type { FeedUpdate } from '../feed/types.js'
import type { Instance, ServiceSnapshot } from '../types.js'
import { ChangeNotifier } from './notifier.js'
import { freezeInstance, makeResult, type Freshness } from './result.js'
import { EmptyProtection } from './protection.js'
import { applyFilter, preferZone, type Selection } from './select.js'
import { followService, type FollowDeps } from './service-feed.js'
import type { Subscriber } from './subscriptions.js'
import type { DiscoveryResult } from './types.js'

export interface EntryDeps extends FollowDeps {
  readonly emit: EmitFn
  readonly defaultPick: Selection
  readonly persist: ((snapshot: ServiceSnapshot) => void) | undefined
}

/** One served state. Retired (superseded) views keep answering the results handed out. */
interface View {
  readonly snapshot: ServiceSnapshot
  readonly fromDisk: boolean
  /** Instances passing the default filter: what empty protection and ejection limits count. */
  readonly usable: number
  retiredAt: number
  /** When a disk view was written: the last moment it was known to match the server. */
  readonly savedAt: number
}

interface ResultSlot {
  view: View | undefined
  result: DiscoveryResult | undefined
  promise: Promise<DiscoveryResult> | undefined
}

interface PickerSlot {
  gen: number
  picker: Picker
}

const MAX_SLOTS = 64

export class ServiceEntry {
  readonly service: string
  readonly stats = new StatsTable()
  readonly #subscribers = new Set<Subscriber>()
  /** Set by every use (touch()); the idle sweep clears it. */
  #used = true
  #lastUsedAt: number
  #view: View | undefined
  /** The feed is healthy: the server answered or confirmed since the last failure. */
  #fresh = false
  #fastPromise: Promise<DiscoveryResult> | undefined
  readonly #feed: Feed<ServiceSnapshot>
  /** The feed keeps answers young enough that the hot path need not check the clock. */
  readonly #fastPathAllowed: boolean

  readonly #d: EntryDeps
  readonly #notifier: ChangeNotifier
  /** One detector per distinct ejection options in use (the `outlier` option's, a strategy's own). */
  readonly #ejectors = new Map<ResolvedOutlierOptions, OutlierDetector>()
  readonly #pickerContext: EjectionHost
  #staleEmitted = false
  #gen = 0
  #defaultResult: ResultSlot = { view: undefined, result: undefined, promise: undefined }
  #defaultPicker: PickerSlot = { gen: -1, picker: EMPTY_PICKER }
  #results = new Map<string, ResultSlot>()
  #pickers = new Map<string, PickerSlot>()
  /** The last selection picked with and its slot: a call site repeating itself skips the Map. */
  #lastSelection: Selection | undefined
  #lastPicker: PickerSlot = this.#defaultPicker
  readonly #protection: EmptyProtection
  /** When the disk snapshot offered to the feed was written. */
  #diskSavedAt = 0
  #closed = false

  constructor(service: string, deps: EntryDeps) {
    this.service = service
    this.#d = deps
    this.#lastUsedAt = deps.now()
    this.#protection = new EmptyProtection({
      service,
      holdMs: deps.options.emptyProtectionMs,
      filter: deps.options.defaultFilter,
      emit: deps.emit,
      logger: deps.logger,
      now: deps.now,
      expired: (snapshot, reset) => {
        if (!this.#closed) this.#setView(snapshot, false, reset, 0)
      },
    })
    this.#feed = followService(service, deps, {
      value: (snapshot, update) => this.#onValue(snapshot, update),
      confirmed: () => this.#onConfirmed(),
      outage: (error) => this.#onFailure(error, true),
      failing: (error) => this.#onFailure(error, false),
      recovered: () => this.#onRecovered(),
    })
    const o = deps.options
    this.#fastPathAllowed = this.#feed.watching
      ? o.maxStalenessMs >= MIN_SILENCE_MS // the silence watchdog keeps a watched answer within it (not a tiny bound)
      : o.pollIntervalMs + deps.requestTimeoutMs <= o.maxStalenessMs - o.refreshAheadMs
    this.#notifier = new ChangeNotifier({
      service,
      emit: deps.emit,
      now: deps.now,
      minIntervalMs: deps.options.minNotifyIntervalMs,
      persist: deps.persist,
      announce: (snapshot, reset) => {
        for (const subscriber of [...this.#subscribers]) subscriber.offer(snapshot, reset)
      },
    })
    this.#pickerContext = { load: (i) => this.stats.of(i), random: deps.random, ejector: (options) => this.#ejector(options) }
    // The `outlier` option's detector counts from the first routed request, before any picker is built.
    if (deps.options.outlier !== undefined) this.#ejector(deps.options.outlier)
  }

  // ---- the read-only view discovery reads ----

  /** The served state; undefined before the first answer (or a snapshot from disk). */
  get view(): Readonly<View> | undefined {
    return this.#view
  }
  /** The default discover() answer while it needs no freshness check; undefined otherwise. */
  get fastPromise(): Promise<DiscoveryResult> | undefined {
    return this.#fastPromise
  }
  /** The feed is healthy: the server answered or confirmed since the last failure. */
  get fresh(): boolean {
    return this.#fresh
  }
  /** The server could not be reached at the last try (and has not been since). */
  get outage(): boolean {
    return this.#feed.state === 'outage'
  }
  get lastError(): GovernanceError | undefined {
    return this.#feed.lastError
  }
  /** When the server last confirmed the served data (a state, a confirmation, a resolve). */
  get confirmedAt(): number {
    return this.#feed.confirmedAt
  }
  /** gov.subscribe() subscriptions: they hold the entry (and its watch) against the idle sweep. */
  get subscriberCount(): number {
    return this.#subscribers.size
  }

  // ---- control ----

  /** Marks a use: the idle sweep keeps the entry. */
  touch(): void {
    this.#used = true
  }

  /**
   * The idle sweep's look at the entry: 'used' (used or subscribed since the last sweep; its
   * idle time starts again), 'idle' (unused for `idleMs`), or undefined (unused, not for long).
   */
  sweep(now: number, idleMs: number): 'used' | 'idle' | undefined {
    if (this.#used || this.#subscribers.size > 0) {
      this.#used = false
      this.#lastUsedAt = now
      return 'used'
    }
    return now - this.#lastUsedAt >= idleMs ? 'idle' : undefined
  }

  /** One read now (shared by concurrent callers); never rejects. `force` skips the outage throttle. */
  refresh(force = false): Promise<void> {
    return this.#feed.refresh(force)
  }

  /** The snapshot from dataDir at a cold start; the server's next answer replaces it whatever its revision. */
  acceptDisk(snapshot: ServiceSnapshot, savedAt: number): void {
    if (this.#view !== undefined) return
    this.#diskSavedAt = savedAt
    this.#feed.offerSnapshot(snapshot, savedAt)
  }

  // ---- the feed's news ----

  #onValue(snapshot: ServiceSnapshot, update: FeedUpdate): void {
    if (update.from !== 'snapshot') return this.#accept(snapshot, update.reset)
    if (this.#view !== undefined || this.#closed) return
    this.#setView(snapshot, true, false, this.#diskSavedAt)
    if (this.outage) this.#emitStale()
  }

  #onConfirmed(): void {
    if (this.#fresh) return
    this.#fresh = true
    this.#updateFastPath()
  }

  #onRecovered(): void {
    this.#d.logger.info('discovery: server reachable again', { service: this.service })
    if (this.#staleEmitted) {
      this.#staleEmitted = false
      this.#d.emit('discovery:recovered', { service: this.service })
    }
  }

  /** The age keeps counting from the last confirmation: a broken feed confirms nothing. */
  #onFailure(error: GovernanceError, first: boolean): void {
    this.#fresh = false
    if (first) {
      const serving = this.#view === undefined ? 'nothing cached yet' : 'serving the last known snapshot'
      this.#d.logger.warn(`discovery: cannot reach the server; ${serving}`, { service: this.service, error: error.message })
    }
    if (this.#view !== undefined) this.#emitStale()
    this.#updateFastPath()
  }

  // ---- reads ----

  ageMs(): number {
    return this.#view === undefined ? Number.POSITIVE_INFINITY : this.#ageOf(this.#view)
  }

  /** The answer for a selection (undefined: the default filter), built once per view. */
  result(selection: Selection | undefined): DiscoveryResult {
    return this.#resultSlot(selection).result!
  }

  /** result() as a settled promise, kept per view so the hot paths allocate nothing. */
  resultPromise(selection?: Selection): Promise<DiscoveryResult> {
    const slot = this.#resultSlot(selection)
    return (slot.promise ??= Promise.resolve(slot.result!))
  }

  #resultSlot(selection: Selection | undefined): ResultSlot {
    const view = this.#view!
    const slot = selection === undefined ? this.#defaultResult : (this.#results.get(selection.key) ?? this.#newSlot(this.#results, selection.key, { view: undefined, result: undefined, promise: undefined }))
    if (slot.view !== view) {
      let instances = applyFilter(view.snapshot.instances, selection?.filter ?? this.#d.options.defaultFilter, this.#d.logger)
      if (selection !== undefined) instances = preferZone(instances, selection.zone)
      slot.result = makeResult(instances, view.snapshot.revision, this.#freshnessOf(view))
      slot.promise = undefined
      slot.view = view
    }
    return slot
  }

  /** One instance by the selection's balancer (undefined: the default pick). Never throws. */
  pick(selection: Selection | undefined, context?: PickContext): Instance | undefined {
    let slot = this.#defaultPicker
    if (selection !== undefined) slot = selection === this.#lastSelection ? this.#lastPicker : this.#pickerSlot(selection)
    if (slot.gen !== this.#gen) {
      slot.picker = this.#buildPicker(selection ?? this.#d.defaultPick)
      slot.gen = this.#gen
    }
    try {
      return slot.picker.pick(context)
    } catch (error) {
      this.#d.logger.warn('discovery: a balancer threw while picking', { service: this.service, error })
      return undefined
    }
  }

  #pickerSlot(selection: Selection): PickerSlot {
    const slot = this.#pickers.get(selection.key) ?? this.#newSlot(this.#pickers, selection.key, { gen: -1, picker: EMPTY_PICKER })
    this.#lastSelection = selection
    this.#lastPicker = slot
    return slot
  }

  /** Adds a subscriber; it gets the served state now (if any), then every announced one. */
  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber)
    if (this.#view !== undefined) subscriber.offer(this.#view.snapshot, false)
    return () => this.#subscribers.delete(subscriber)
  }

  close(): void {
    this.#closed = true
    this.#feed.close()
    for (const subscriber of [...this.#subscribers]) subscriber.end()
    this.#fastPromise = undefined
    this.#protection.close()
    this.#notifier.close()
    for (const detector of this.#ejectors.values()) detector.close()
  }

  // ---- internals ----

  #accept(snapshot: ServiceSnapshot, reset: boolean): void {
    if (this.#closed) return
    const instances = snapshot.instances.map(freezeInstance)
    const frozen: ServiceSnapshot = Object.freeze({ service: this.service, revision: snapshot.revision, instances: Object.freeze(instances) })
    const admitted = this.#protection.admit(this.#view, frozen, reset)
    if (admitted !== undefined) this.#setView(frozen, false, admitted.reset, 0)
  }

  #setView(snapshot: ServiceSnapshot, fromDisk: boolean, reset: boolean, savedAt: number): void {
    const now = this.#d.now()
    if (this.#view !== undefined) this.#view.retiredAt = now
    this.#view = { snapshot, fromDisk, usable: this.#protection.usable(snapshot.instances), retiredAt: 0, savedAt }
    if (!fromDisk) this.stats.retain(snapshot.instances)
    this.#invalidatePickers()
    this.#updateFastPath()
    this.#notifier.changed(snapshot, reset, !fromDisk)
  }

  #invalidatePickers(): void {
    this.#gen++
  }

  #updateFastPath(): void {
    const ok = this.#view !== undefined && !this.#view.fromDisk && this.#fresh && !this.#closed && this.#fastPathAllowed
    this.#fastPromise = ok ? this.resultPromise() : undefined
  }

  #emitStale(): void {
    if (this.#staleEmitted || this.#view === undefined) return
    this.#staleEmitted = true
    this.#d.emit('discovery:stale', { service: this.service, ageMs: this.#ageOf(this.#view), error: this.lastError! })
  }

  /** Since the server last confirmed this view (not since it last changed). */
  #ageOf(view: View): number {
    const now = this.#d.now()
    if (view.retiredAt !== 0) return now - view.retiredAt
    if (view.fromDisk) return Math.max(0, now - view.savedAt)
    const heldSince = this.#protection.since
    if (heldSince !== undefined) return Math.max(0, now - heldSince)
    return Math.max(0, now - this.#feed.confirmedAt)
  }

  #sourceOf(view: View): SnapshotSource {
    if (view.retiredAt !== 0) return 'memory'
    if (view.fromDisk) return 'disk'
    if (this.#protection.since !== undefined) return 'protected'
    return this.outage ? 'memory' : 'live'
  }

  #freshnessOf(view: View): Freshness {
    return { ageMs: () => this.#ageOf(view), source: () => this.#sourceOf(view) }
  }

  #buildPicker(selection: Selection): Picker {
    const view = this.#view
    if (view === undefined) return EMPTY_PICKER
    const outlier = this.#d.options.outlier
    const balancer: Balancer = outlier === undefined ? selection.balancer : withEjection(selection.balancer, outlier)
    try {
      const allowed = applyFilter(view.snapshot.instances, selection.filter, this.#d.logger)
      // Ejection before the zone: a zone whose instances are all ejected spills over to the others.
      const ejecting = ejectionOf(balancer)
      const healthy = ejecting === undefined ? allowed : [...ejecting.healthy(allowed, this.#pickerContext)]
      const candidates = preferZone(healthy, selection.zone)
      return (ejecting?.child ?? balancer).build(Object.freeze(candidates), this.#pickerContext)
    } catch (error) {
      this.#d.logger.warn('discovery: a balancer threw while building its picker', { service: this.service, balancer: selection.balancer.name, error })
      return EMPTY_PICKER
    }
  }

  #ejector(options: ResolvedOutlierOptions): OutlierDetector {
    let detector = this.#ejectors.get(options)
    if (detector === undefined) {
      detector = new OutlierDetector(options, this.stats, this.#d.now, () => this.#view?.usable ?? 0, () => this.#invalidatePickers())
      this.#ejectors.set(options, detector)
      if (this.#closed) detector.close()
    }
    return detector
  }

  #newSlot<T>(map: Map<string, T>, key: string, slot: T): T {
    // Selections built from ever-changing options must not grow without bound.
    if (map.size >= MAX_SLOTS) map.clear()
    map.set(key, slot)
    return slot
  }
}
