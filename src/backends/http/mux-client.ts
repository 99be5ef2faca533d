/**
 * Every watch of one http backend on one `POST /v1/watch` stream (protocol section 4.1),
 * when the server offers it; per-resource blocking queries otherwise.
 *
 * The set of resources travels in the request body, so adding or removing a watch re-opens
 * the stream with the indexes held (changes are coalesced for a moment first): the server
 * sends only what changed past them, so nothing is lost or repeated. A failed or silent
 * stream moves to the next server, which is asked again whether it offers the feature.
 */
import type { Unsubscribe } from '../../backend.js'
import { toGovernanceError, type GovernanceError } from '../../errors.js'
import { fullJitterDelay } from '../../internal/backoff.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import { DEFAULT_WATCH_BACKOFF } from '../../internal/watch-loop.js'
import { ConfigWatchEntry, ServiceEntry, entryId, type MuxEntry } from './mux-entry.js'
import type { MuxFrame } from './mux-frames.js'
import { MuxLimitError, runMuxStream, type MuxResourceBody } from './mux-stream.js'
import { compareRevisions } from '../../types.js'
import type { MuxTargets } from './mux-targets.js'

export interface MuxClientOptions {
  readonly targets: MuxTargets
  readonly keepAliveMs: number
  readonly requestTimeoutMs: number
  readonly logger: Logger
  /** Starts the per-resource blocking-query loop of an entry (servers without the feature). */
  readonly fallback: (entry: MuxEntry) => Unsubscribe
}

/** Set changes within this long leave in one re-open. */
const COALESCE_MS = 20

/** What the current server said: it carries the stream (up to a limit, once it named one), or it has no such route. */
type Support = { readonly mux: true; readonly maxResources: number } | { readonly mux: false }
const UNLIMITED: Support = { mux: true, maxResources: Number.POSITIVE_INFINITY }

export class MuxClient {
  readonly #options: MuxClientOptions
  /** Watches by resource (`service:orders`); two watches of one resource share its place on the stream. */
  readonly #entries = new Map<string, Set<MuxEntry>>()
  readonly #fallbacks = new Map<MuxEntry, Unsubscribe>()
  /** Resources past the server's limit, on blocking queries. */
  readonly #overflow = new Set<string>()
  readonly #closed = new AbortController()
  #stream: { readonly stop: AbortController; readonly version: number } | undefined
  /** Bumped by every change of the set, so a re-open happens only when the open stream is behind. */
  #version = 0
  #reopenTimer: NodeJS.Timeout | undefined
  #loop: Promise<void> | undefined
  /** Whether the current target offers the feature; undefined: ask it first. */
  #support: Support | undefined
  #target = 0

  constructor(options: MuxClientOptions) {
    this.#options = options
  }

  /** The server answered and does not offer the feature: every watch is a blocking query. */
  get fellBack(): boolean {
    return this.#support?.mux === false
  }

  add(entry: MuxEntry): Unsubscribe {
    const group = this.#entries.get(entry.id) ?? new Set<MuxEntry>()
    this.#entries.set(entry.id, group.add(entry))
    if (this.fellBack || this.#overflow.has(entry.id)) this.#fallbacks.set(entry, this.#options.fallback(entry))
    else this.#changed()
    return () => this.#remove(entry)
  }

  async close(): Promise<void> {
    this.#closed.abort()
    clearTimeout(this.#reopenTimer)
    for (const stop of this.#fallbacks.values()) stop()
    this.#fallbacks.clear()
    await this.#loop
    await this.#options.targets.close()
  }

  #remove(entry: MuxEntry): void {
    const group = this.#entries.get(entry.id)
    if (!group?.delete(entry)) return
    if (group.size === 0) {
      this.#entries.delete(entry.id)
      this.#overflow.delete(entry.id)
    }
    const fallback = this.#fallbacks.get(entry)
    if (fallback) {
      this.#fallbacks.delete(entry)
      fallback()
    } else this.#changed()
  }

  /** The set changed: start the loop, or re-open the stream with the new set shortly. */
  #changed(): void {
    this.#version++
    if (this.#closed.signal.aborted) return
    if (this.#loop === undefined) {
      this.#loop = this.#run().finally(() => {
        this.#loop = undefined
        // A watch added while the loop was ending (it saw no entries left) still needs one.
        if (this.#entries.size > 0 && !this.fellBack) this.#changed()
      })
      return
    }
    this.#reopenTimer ??= setTimeout(() => {
      this.#reopenTimer = undefined
      if (this.#stream !== undefined && this.#stream.version !== this.#version) this.#stream.stop.abort()
    }, COALESCE_MS)
  }

  async #run(): Promise<void> {
    let failures = 0
    // Watches added in the same moment (a service starting up) leave on one stream.
    await this.#pause(1)
    while (!this.#closed.signal.aborted && this.#entries.size > 0 && !this.fellBack) {
      try {
        const opened = await this.#once()
        if (opened) failures = 0
      } catch (error) {
        if (this.#closed.signal.aborted) return
        // A smaller limit than the one tried: split at once. Anything else backs off, so a
        // server that keeps refusing cannot make the loop spin.
        if (error instanceof MuxLimitError && error.limit < this.#maxResources()) {
          this.#support = { mux: true, maxResources: error.limit }
          continue
        }
        this.#failed(toGovernanceError(error, 'http watch stream failed'))
        await this.#pause(fullJitterDelay(failures++, DEFAULT_WATCH_BACKOFF))
      }
    }
  }

  /** One stream on the current target; resolves whether it opened. */
  async #once(): Promise<boolean> {
    const transport = this.#options.targets.get(this.#target)
    // Detected by asking: an older server answers 404 (or 405), and the watches fall back.
    this.#support ??= UNLIMITED
    if (!this.#support.mux) return this.#fallBack()
    const version = this.#version
    const onMux = this.#split(this.#support.maxResources)
    const stream = new AbortController()
    this.#stream = { stop: stream, version }
    const stop = (): void => stream.abort()
    this.#closed.signal.addEventListener('abort', stop, { once: true })
    let opened = false
    try {
      const end = await runMuxStream({
        transport,
        resources: onMux.map(resourceBody),
        keepAliveMs: this.#options.keepAliveMs,
        silenceMs: 2 * this.#options.keepAliveMs + 1_000,
        openTimeoutMs: this.#options.requestTimeoutMs,
        signal: stream.signal,
        onFrame: (frame, source) => {
          if (frame.type === 'open') opened = true
          if (frame.type === 'closing') this.#next('the server is shutting down')
          this.#dispatch(frame, source)
        },
      })
      if (end === 'unsupported') {
        this.#support = { mux: false }
        return this.#fallBack()
      }
    } finally {
      this.#closed.signal.removeEventListener('abort', stop)
    }
    return opened
  }

  #maxResources(): number {
    return this.#support?.mux ? this.#support.maxResources : Number.POSITIVE_INFINITY
  }

  /** Entries past the server's limit go to blocking queries, loudly: a watch is never dropped. */
  #split(maxResources: number): (readonly MuxEntry[])[] {
    const groups = [...this.#entries].filter(([id]) => !this.#overflow.has(id)).map(([, group]) => [...group])
    if (groups.length <= maxResources) return groups
    this.#options.logger.warn('http watch: more watched resources than the server carries on one stream; the rest use blocking queries', {
      resources: this.#entries.size,
      maxResources,
    })
    for (const group of groups.slice(maxResources)) {
      this.#overflow.add(group[0]!.id)
      for (const entry of group) this.#fallbacks.set(entry, this.#options.fallback(entry))
    }
    return groups.slice(0, maxResources)
  }

  /** Every watch carried by the stream (not on blocking queries). */
  *#onStream(): Generator<MuxEntry> {
    for (const group of this.#entries.values()) for (const entry of group) if (!this.#fallbacks.has(entry)) yield entry
  }

  #dispatch(frame: MuxFrame, source: string): void {
    if (frame.type === 'keepalive') {
      for (const entry of this.#onStream()) entry.confirm(this)
      return
    }
    if (frame.type === 'service') {
      for (const entry of this.#entries.get(entryId('service', frame.service)) ?? []) if (entry instanceof ServiceEntry) entry.apply(this, frame, source)
    } else if (frame.type === 'config') {
      for (const entry of this.#entries.get(entryId('config', frame.key)) ?? []) if (entry instanceof ConfigWatchEntry) entry.apply(this, frame)
    }
  }

  #fallBack(): false {
    this.#options.logger.info('http watch: the server does not offer watch-mux; each watch uses blocking queries')
    for (const entry of [...this.#onStream()]) this.#fallbacks.set(entry, this.#options.fallback(entry))
    return false
  }

  /** Every watch hears that the feed is broken for now; the next attempt goes to the next server. */
  #failed(error: GovernanceError): void {
    this.#options.logger.debug(`http watch stream: ${error.message}`)
    for (const entry of this.#onStream()) this.guard(() => entry.watcher.error(error), 'watcher.error')
    this.#next(error.message)
  }

  #next(why: string): void {
    if (this.#options.targets.count < 2) return
    this.#target = (this.#target + 1) % this.#options.targets.count
    this.#support = undefined // another server: ask it again whether it offers the feature
    this.#options.logger.info('http watch stream: moving to the next server', { why, target: this.#target })
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, this.#closed.signal).catch(() => undefined)
  }

  /** Runs a watcher callback; a throw is logged, never propagated into the stream. */
  guard(fn: () => unknown, what: string): void {
    try {
      const out = fn()
      if (typeof (out as PromiseLike<unknown> | undefined)?.then === 'function') {
        ;(out as PromiseLike<unknown>).then(undefined, (error: unknown) => this.#options.logger.warn(`http watch: ${what} threw`, { error }))
      }
    } catch (error) {
      this.#options.logger.warn(`http watch: ${what} threw`, { error })
    }
  }
}

/** A resource's place in the request: the lowest index any of its watches holds. */
function resourceBody(group: readonly MuxEntry[]): MuxResourceBody {
  let index = group[0]!.resumeIndex()
  for (const entry of group) if (compareRevisions(entry.resumeIndex(), index) < 0) index = entry.resumeIndex()
  const first = group[0]!
  return first.kind === 'service' ? { service: first.name, index } : { config: first.name, index }
}
