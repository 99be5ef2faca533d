/**
 * The config domain over one followed key: however many local watchers, validation against
 * every watcher's schema, snapshot fallback and persistence, and delivery. The feed engine
 * (src/feed/) follows the key (watch or poll, revision order, outage and recovery); this file
 * decides what its values mean. All state changes run through one serial queue, so
 * deliveries stay in order even when a schema validates asynchronously.
 */
import type { GovernanceError } from '../errors.js'
import { DEFAULT_FEED_BACKOFF, Feed } from '../feed/feed.js'
import type { FeedUpdate } from '../feed/types.js'
import type { SubsystemContext } from '../internal/context.js'
import { holdProcessOpen } from '../internal/timers.js'
import type { ConfigEntry } from '../types.js'
import { checkEntry, reportCallbackError } from './answers.js'
import { changedKeys, jsonEqual } from './json-diff.js'
import type { ResolvedConfigOptions } from './options.js'
import { isPromiseLike, runSchema, validationError, type Issue, type Outcome, type Schema } from './schema.js'
import { SerialQueue } from './serial-queue.js'
import type { SnapshotStore } from './snapshot-store.js'
import type { ConfigChange, ConfigSource, ConfigValue } from './types.js'

type AnySchema = Schema<unknown>

interface State {
  readonly seq: number
  /** undefined: the key does not exist. */
  readonly entry: ConfigEntry | undefined
  readonly source: 'live' | 'snapshot'
  /** This entry's validated output per attached schema. */
  readonly outputs: Map<AnySchema, unknown>
}

interface Proposal {
  readonly entry: ConfigEntry | undefined
  readonly source: 'live' | 'snapshot'
  /** Versions may have restarted: compare values rather than versions. */
  readonly reset: boolean
}

type Checked = { readonly ok: true; readonly outputs: Map<AnySchema, unknown> } | { readonly ok: false; readonly issues: readonly Issue[] }

/** Raw (pre-schema) values of a delivery, for callers that fold deliveries together. */
export interface RawPair {
  readonly previous: unknown
  readonly value: unknown
}

export interface Subscriber {
  readonly schema: AnySchema | undefined
  readonly deliver: (change: ConfigChange<unknown>, raw: RawPair) => void
  /** seq of the last state delivered; 0 before the first. */
  seq: number
  lastRaw: unknown
  lastValue: unknown
}

export interface KeyWatchDeps {
  readonly ctx: SubsystemContext
  readonly options: ResolvedConfigOptions
  readonly snapshots: SnapshotStore | undefined
  /** Called once the last subscriber has left (the watch is closed by then). */
  readonly onIdle: (watch: KeyWatch) => void
}

export class KeyWatch {
  readonly key: string
  readonly #deps: KeyWatchDeps
  readonly #subs = new Set<Subscriber>()
  readonly #queue: SerialQueue
  #state: State | undefined
  #stateSeq = 0
  #proposalSeq = 0
  readonly #feed: Feed<ConfigEntry | undefined>
  /** An active watch of a polled key holds the process open (docs/config.md); a watch's request does by itself. */
  #release: (() => void) | undefined
  #snapshot: ConfigEntry | undefined
  #snapshotSavedAt: number | undefined
  #snapshotLoaded = false
  #snapshotWanted = false
  #started = false
  #closed = false

  constructor(key: string, deps: KeyWatchDeps) {
    this.key = key
    this.#deps = deps
    this.#queue = new SerialQueue((error) => reportCallbackError(deps.ctx, key, error))
    const { ctx, options } = deps
    const backend = ctx.backend
    const watchConfig = backend.watchConfig
    this.#feed = new Feed<ConfigEntry | undefined>(
      {
        what: `config watch of ${key}`,
        reading: `reading config ${key}`,
        details: { key },
        read: (c) => backend.getConfig(key, c),
        watch: watchConfig && ((watcher, o) => watchConfig.call(backend, key, watcher, o)),
        check: (value) => checkEntry(key, value),
        // Revision "0" stands for "absent": a read cannot learn the index of a deletion.
        revisionOf: (entry) => entry?.version ?? '0',
      },
      {
        value: (entry, update) => this.#onValue(entry, update),
        outage: (error) => this.#onOutage(error),
        failing: (error) => ctx.logger.debug(`config watch of ${key} still failing`, { key, error: error.message }),
        recovered: () => ctx.logger.info(`config watch of ${key} recovered`, { key }),
      },
      {
        logger: ctx.logger,
        now: () => ctx.clock.now(),
        requestTimeoutMs: ctx.requestTimeoutMs,
        pollIntervalMs: options.pollIntervalMs,
        backoff: DEFAULT_FEED_BACKOFF,
        readFirst: false,
      },
    )
  }

  get started(): boolean {
    return this.#started
  }

  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    const { snapshots } = this.#deps
    if (snapshots) {
      void snapshots.read(this.key).then((stored) => {
        const { savedAt, ...entry } = stored ?? { savedAt: undefined }
        this.#snapshot = stored && (entry as ConfigEntry)
        this.#snapshotSavedAt = savedAt
        this.#snapshotLoaded = true
        if (this.#snapshotWanted) this.#offerSnapshot()
      })
    }
    if (!this.#feed.watching) this.#release = holdProcessOpen()
    this.#feed.start()
  }

  get hasState(): boolean {
    return this.#state !== undefined
  }

  subscribe(schema: AnySchema | undefined, deliver: Subscriber['deliver']): Subscriber {
    const sub: Subscriber = { schema, deliver, seq: 0, lastRaw: undefined, lastValue: undefined }
    this.#subs.add(sub)
    this.#queue.push(() => this.#welcome(sub))
    return sub
  }

  unsubscribe(sub: Subscriber): void {
    if (!this.#subs.delete(sub) || this.#subs.size > 0) return
    this.close()
    this.#deps.onIdle(this)
  }

  /** Since the server last answered or confirmed the key (Infinity before it ever did). */
  get ageMs(): number {
    return Math.max(0, this.#deps.ctx.clock.now() - this.#feed.confirmedAt)
  }

  /** The local copy, for get(); call only when hasState. Throws ValidationError when `schema` rejects it. */
  async read<T>(schema: Schema<T> | undefined): Promise<ConfigValue<T> | undefined> {
    const state = this.#state
    if (!state?.entry) return undefined
    const { entry } = state
    const meta = { version: entry.version, source: (state.source === 'snapshot' ? 'snapshot' : 'memory') as ConfigSource, ageMs: this.ageMs }
    if (!schema) return { value: entry.value as T, ...meta }
    if (state.outputs.has(schema)) return { value: state.outputs.get(schema) as T, ...meta }
    const outcome = await runSchema(schema, entry.value)
    if (!outcome.ok) throw validationError(this.key, entry.version, outcome.issues)
    return { value: outcome.value, ...meta }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.clear()
    this.#subs.clear()
    this.#feed.close()
    this.#release?.()
    this.#release = undefined
  }

  // ---- the feed ----

  #onValue(entry: ConfigEntry | undefined, update: FeedUpdate): void {
    if (this.#closed) return
    this.#propose({ entry, source: update.from === 'snapshot' ? 'snapshot' : 'live', reset: update.reset })
  }

  #onOutage(error: GovernanceError): void {
    if (this.#closed) return
    // Once per outage: the engine retries with backoff and would repeat this many times.
    this.#deps.ctx.logger.warn(`config watch of ${this.key} failed; it keeps retrying and the last good value stays`, { key: this.key, error: error.message })
    this.#deps.ctx.emit('error', error)
    if (!this.#state) this.#wantSnapshot()
  }

  #wantSnapshot(): void {
    this.#snapshotWanted = true
    if (this.#snapshotLoaded) this.#offerSnapshot()
  }

  #offerSnapshot(): void {
    if (this.#closed || this.#state || !this.#snapshot) return
    const snapshot = this.#snapshot
    this.#snapshot = undefined
    this.#feed.offerSnapshot(snapshot, this.#snapshotSavedAt)
  }

  // ---- the state machine (runs on the queue) ----

  #propose(proposal: Proposal): void {
    const seq = ++this.#proposalSeq
    this.#queue.push(() => this.#consider(proposal, seq))
  }

  #consider(p: Proposal, seq: number): void | Promise<void> {
    // A newer proposal is queued: it carries the full state, so this one can be skipped.
    if (this.#closed || seq !== this.#proposalSeq) return
    const current = this.#state
    if (p.source === 'snapshot' && current) return
    if (current && (p.reset || current.source === 'snapshot' || !current.entry) && sameValue(current.entry, p.entry)) {
      // Same value with a new version or provenance (re-list, snapshot confirmed): nothing to deliver.
      this.#state = { ...current, entry: p.entry, source: p.source }
      if (p.source === 'live') this.#persist(p.entry)
      return
    }
    if (p.entry === undefined) return this.#accept(p, new Map())
    const checked = this.#check(p.entry.value)
    if (isPromiseLike<Checked>(checked)) return checked.then((c) => this.#decide(p, c))
    this.#decide(p, checked)
  }

  #check(raw: unknown): Checked | Promise<Checked> {
    const schemas = [...new Set([...this.#subs].map((s) => s.schema).filter((s): s is AnySchema => s !== undefined))]
    const results = schemas.map((s) => runSchema(s, raw))
    const collect = (outcomes: readonly Outcome<unknown>[]): Checked => {
      const outputs = new Map<AnySchema, unknown>()
      for (let i = 0; i < outcomes.length; i++) {
        const o = outcomes[i]!
        if (!o.ok) return { ok: false, issues: o.issues }
        outputs.set(schemas[i]!, o.value)
      }
      return { ok: true, outputs }
    }
    if (results.some((r) => isPromiseLike(r))) return Promise.all(results).then(collect)
    return collect(results as Outcome<unknown>[])
  }

  #decide(p: Proposal, checked: Checked): void {
    if (this.#closed) return
    if (checked.ok) this.#accept(p, checked.outputs)
    else this.#reject(p.entry!, checked.issues)
  }

  #reject(entry: ConfigEntry, issues: readonly Issue[]): void {
    const error = validationError(this.key, entry.version, issues)
    this.#deps.ctx.logger.warn(`${error.message}; keeping the last good value`, { key: this.key, version: entry.version })
    this.#deps.ctx.emit('config:rejected', { key: this.key, version: entry.version, error })
    if (!this.#state) this.#wantSnapshot()
  }

  #accept(p: Proposal, outputs: Map<AnySchema, unknown>): void {
    const previous = this.#state
    const state: State = { seq: ++this.#stateSeq, entry: p.entry, source: p.source, outputs }
    this.#state = state
    if (p.source === 'live') this.#persist(p.entry)
    const before = previous?.entry?.value
    if (previous?.entry !== undefined || p.entry !== undefined) {
      this.#deps.ctx.emit('config:changed', {
        key: this.key,
        value: p.entry?.value,
        previous: before,
        version: p.entry?.version,
        changedKeys: changedKeys(before, p.entry?.value),
      })
    }
    for (const sub of [...this.#subs]) {
      if (this.#closed) return
      this.#deliverTo(sub, state, p.source)
    }
  }

  #welcome(sub: Subscriber): void | Promise<void> {
    const state = this.#state
    if (this.#closed || !state || !this.#subs.has(sub) || sub.seq >= state.seq) return
    const source: ConfigSource = state.source === 'snapshot' ? 'snapshot' : 'memory'
    const schema = sub.schema
    if (!schema || !state.entry || state.outputs.has(schema)) return this.#deliverTo(sub, state, source)
    const entry = state.entry
    const finish = (outcome: Outcome<unknown>): void => {
      if (this.#closed || this.#state !== state) return
      if (!outcome.ok) return this.#reject(entry, outcome.issues)
      state.outputs.set(schema, outcome.value)
      this.#deliverTo(sub, state, source)
    }
    const outcome = runSchema(schema, entry.value)
    if (isPromiseLike<Outcome<unknown>>(outcome)) return Promise.resolve(outcome).then(finish)
    finish(outcome)
  }

  #deliverTo(sub: Subscriber, state: State, source: ConfigSource): void {
    if (!this.#subs.has(sub) || sub.seq >= state.seq) return
    const raw = state.entry?.value
    let value: unknown = raw
    if (state.entry && sub.schema) {
      // Attached while this state was being validated: its welcome task delivers it.
      if (!state.outputs.has(sub.schema)) return
      value = state.outputs.get(sub.schema)
    }
    const change: ConfigChange<unknown> = {
      key: this.key,
      value,
      previous: sub.lastValue,
      version: state.entry?.version,
      changedKeys: changedKeys(sub.lastRaw, raw),
      source,
    }
    const previousRaw = sub.lastRaw
    sub.seq = state.seq
    sub.lastRaw = raw
    sub.lastValue = value
    try {
      sub.deliver(change, { previous: previousRaw, value: raw })
    } catch (error) {
      reportCallbackError(this.#deps.ctx, this.key, error)
    }
  }

  #persist(entry: ConfigEntry | undefined): void {
    this.#deps.snapshots?.save(this.key, entry ?? null)
  }
}

function sameValue(a: ConfigEntry | undefined, b: ConfigEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return jsonEqual(a.value, b.value)
}
