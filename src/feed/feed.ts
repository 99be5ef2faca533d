/**
 * Follows one backend key; the core's only engine for it (discovery and config sit on top).
 *
 * - The first answer comes from a guarded read (a backend that ignores its deadline cannot
 *   hold it for ever), or from the watch's first delivery when `readFirst` is off.
 * - With a `watch` on the source it then watches after the revision it has; without one it
 *   polls: one read every `pollIntervalMs`, the only poll loop of the core.
 * - Revisions only go forward. A watch delivery not newer than the last is dropped unless it
 *   is a reset; a read lower than the last is a replacement when nothing landed since it
 *   began (the server went back), and a late answer otherwise.
 * - A failure turns healthy into outage (told once), and the next answer or confirmation
 *   turns it back (recovered). After a failure the key is re-listed with the read on the one
 *   backoff (full jitter, src/internal/backoff.ts); a poll never waits longer than its
 *   interval, so polled and watched keys follow the same rule. A broken watch is closed (a
 *   watch that resumes on its own may resume from a state the server no longer has, after a
 *   reset) and a new one opens after the re-listed revision, so no change is lost.
 * - `confirmedAt` is the last time the server vouched for the value: honest freshness. With
 *   `silence`, a watch quiet past the refresh-ahead point is probed with a read, and one quiet
 *   past maxStalenessMs is an outage (a frozen server confirms nothing).
 */
import type { Unsubscribe, Watcher, WatchMeta } from '../backend.js'
import { TimeoutError, toGovernanceError, type GovernanceError } from '../errors.js'
import { fullJitterDelay } from '../internal/backoff.js'
import { guardedCall } from '../internal/guarded-call.js'
import { unrefTimeout } from '../internal/timers.js'
import { compareRevisions } from '../types.js'
import type { BackoffOptions } from '../internal/backoff.js'
import type { FeedListener, FeedOptions, FeedSource, FeedState, FeedValueSource, FeedView } from './types.js'

/** The one re-list backoff: config keys use it, and it is discovery's recoveryBackoff default. */
export const DEFAULT_FEED_BACKOFF: BackoffOptions = Object.freeze({ minDelayMs: 200, maxDelayMs: 5_000 })

const DONE: Promise<void> = Promise.resolve()
/**
 * The silence bound never goes below this, so a tiny maxStalenessMs cannot turn the watchdog
 * into a storm of probes.
 */
export const MIN_SILENCE_MS = 1_000
/** Past the call's own deadline, for a backend that honours it to report its own error first. */
const GRACE_MS = 100

interface Subscription {
  stop: Unsubscribe | undefined
}

export class Feed<T> implements FeedView<T> {
  readonly #source: FeedSource<T>
  readonly #listener: FeedListener<T>
  readonly #o: FeedOptions
  readonly #abort = new AbortController()
  #value: T | undefined
  #hasValue = false
  #valueSource: FeedValueSource | undefined
  #revision: string | undefined
  #epoch = 0
  #state: FeedState = 'starting'
  #confirmedAt = Number.NEGATIVE_INFINITY
  #lastError: GovernanceError | undefined
  #subscription: Subscription | undefined
  /** The next read: the poll interval, or a re-list after a failure. */
  #timer: NodeJS.Timeout | undefined
  #watchdog: NodeJS.Timeout | undefined
  #inflight: Promise<void> | undefined
  #failures = 0
  #lastAttemptAt = Number.NEGATIVE_INFINITY
  #started = false

  constructor(source: FeedSource<T>, listener: FeedListener<T>, options: FeedOptions) {
    this.#source = source
    this.#listener = listener
    this.#o = options
  }

  // ---- the read-only view ----

  get value(): T | undefined {
    return this.#value
  }
  get hasValue(): boolean {
    return this.#hasValue
  }
  get revision(): string | undefined {
    return this.#revision
  }
  get source(): FeedValueSource | undefined {
    return this.#valueSource
  }
  get confirmedAt(): number {
    return this.#confirmedAt
  }
  get state(): FeedState {
    return this.#state
  }
  get epoch(): number {
    return this.#epoch
  }
  get lastError(): GovernanceError | undefined {
    return this.#lastError
  }
  /** True when the backend watches this key (else the engine polls). */
  get watching(): boolean {
    return this.#source.watch !== undefined
  }

  // ---- control ----

  /** Begins following the key; idempotent. */
  start(): void {
    if (this.#started || this.#state === 'closed') return
    this.#started = true
    if (this.#o.readFirst || this.#source.watch === undefined) void this.refresh(true)
    else this.#subscribe()
  }

  /**
   * One read now, shared by concurrent callers; never rejects (the outcome is in the view and
   * the listener). During an outage, callers are held to the backoff's minimum gap so a burst
   * of them cannot hammer a server that is down; `force` (the engine's own retries) is not.
   */
  refresh(force = false): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight
    if (this.#state === 'closed') return DONE
    this.#started = true
    if (!force && this.#state === 'outage' && this.#o.now() - this.#lastAttemptAt < this.#o.backoff.minDelayMs) return DONE
    this.#inflight = this.#attempt()
      .catch((error: unknown) => this.#o.logger.error(`${this.#source.what}: a read failed unexpectedly`, { error }))
      .finally(() => (this.#inflight = undefined))
    return this.#inflight
  }

  /**
   * A stored value for a cold start (written at `savedAt`), offered by the layer while it
   * holds no good value (none came, or the live one failed its checks). The server's next
   * newer answer replaces it whatever its revision. True when taken.
   */
  offerSnapshot(value: T, savedAt: number | undefined): boolean {
    if (this.#valueSource === 'snapshot' || this.#state === 'closed') return false
    if (savedAt !== undefined) this.#confirmedAt = savedAt
    this.#take(value, 'snapshot', { revision: this.#source.revisionOf(value), reset: true, from: 'snapshot' })
    return true
  }

  close(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#abort.abort()
    clearTimeout(this.#timer)
    clearTimeout(this.#watchdog)
    this.#timer = undefined
    this.#watchdog = undefined
    this.#unsubscribe()
  }

  // ---- reads ----

  async #attempt(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const epoch = this.#epoch
    this.#lastAttemptAt = this.#o.now()
    let value: T
    try {
      const { reading } = this.#source
      const answer = await guardedCall(reading, (ctx) => this.#source.read(ctx), this.#o.requestTimeoutMs, this.#abort.signal, GRACE_MS)
      value = this.#source.check(answer)
    } catch (error) {
      if (this.#state === 'closed') return
      // The watch confirmed the value after this read began: its failure is older news.
      if (this.#subscription !== undefined && this.#confirmedAt > this.#lastAttemptAt && this.#state !== 'outage') return
      this.#failed(toGovernanceError(error, `${this.#source.reading} failed`), true)
      return
    }
    if (this.#state === 'closed') return
    this.#acceptRead(value, epoch)
    this.#confirmed()
    if (this.#source.watch === undefined) return this.#schedule(this.#o.pollIntervalMs)
    this.#subscribe()
  }

  #acceptRead(value: T, epoch: number): void {
    const revision = this.#source.revisionOf(value)
    const fromSnapshot = this.#valueSource === 'snapshot'
    const order = this.#revision === undefined ? 1 : compareRevisions(revision, this.#revision)
    if (order > 0) return this.#take(value, 'live', { revision, reset: fromSnapshot, from: 'read' })
    if (order < 0 && epoch === this.#epoch) this.#take(value, 'live', { revision, reset: true, from: 'read' })
  }

  // ---- the watch ----

  #subscribe(): void {
    const watch = this.#source.watch
    if (this.#subscription !== undefined || this.#state === 'closed' || watch === undefined) return
    const subscription: Subscription = { stop: undefined }
    this.#subscription = subscription
    const current = (): boolean => this.#subscription === subscription && this.#state !== 'closed'
    const watcher: Watcher<T> = {
      next: (raw, meta) => {
        if (!current()) return
        let value: T
        try {
          value = this.#source.check(raw)
        } catch (error) {
          return watcher.error(toGovernanceError(error))
        }
        this.#acceptWatched(value, meta)
        this.#confirmed()
      },
      confirmed: () => {
        if (!current()) return
        this.#confirmed()
      },
      error: (error) => {
        if (!current()) return
        this.#unsubscribe()
        this.#failed(toGovernanceError(error), true)
      },
    }
    const revision = this.#revision
    try {
      subscription.stop = watch(watcher, revision === undefined ? undefined : { afterRevision: revision })
    } catch (error) {
      this.#subscription = undefined
      this.#failed(toGovernanceError(error, `watching ${this.#source.what} failed`), true)
    }
  }

  #acceptWatched(value: T, meta: WatchMeta): void {
    const replacing = this.#valueSource === 'snapshot'
    if (!meta.reset && !replacing && this.#revision !== undefined && compareRevisions(meta.revision, this.#revision) <= 0) return
    this.#take(value, 'live', { revision: meta.revision, reset: meta.reset || replacing, from: 'watch' })
  }

  #unsubscribe(): void {
    const subscription = this.#subscription
    this.#subscription = undefined
    try {
      subscription?.stop?.()
    } catch (error) {
      this.#o.logger.warn(`${this.#source.what}: unsubscribing a watch threw`, { error })
    }
  }

  // ---- state ----

  #take(value: T, source: FeedValueSource, update: { revision: string; reset: boolean; from: 'read' | 'watch' | 'snapshot' }): void {
    this.#value = value
    this.#hasValue = true
    this.#valueSource = source
    if (source === 'live') this.#revision = update.revision
    this.#epoch++
    this.#listener.value(value, update)
  }

  /** The server answered or confirmed: healthy, and the silence watchdog runs. */
  #confirmed(): void {
    if (this.#state === 'closed') return
    this.#failures = 0
    this.#confirmedAt = this.#o.now()
    this.#lastError = undefined
    const was = this.#state
    this.#state = 'healthy'
    if (was === 'outage') this.#listener.recovered()
    this.#listener.confirmed?.()
    if (this.#watchdog === undefined) this.#armWatchdog(this.#probeAfterMs())
  }

  /** A failure: outage (told once), and a re-list on the backoff when `retry`. */
  #failed(error: GovernanceError, retry: boolean): void {
    if (this.#state === 'closed') return
    this.#lastError = error
    if (this.#state === 'outage') this.#listener.failing?.(error)
    else {
      this.#state = 'outage'
      this.#listener.outage(error)
    }
    if (!retry) return
    const delay = fullJitterDelay(this.#failures++, this.#o.backoff, this.#o.random)
    this.#schedule(this.#source.watch === undefined ? Math.min(delay, this.#o.pollIntervalMs) : delay)
  }

  #schedule(ms: number): void {
    if (this.#state === 'closed') return
    clearTimeout(this.#timer)
    this.#timer = unrefTimeout(() => {
      this.#timer = undefined
      void this.refresh(true)
    }, ms)
  }

  // ---- the silence watchdog (with `silence` only) ----

  #silenceMs(): number {
    return Math.max(MIN_SILENCE_MS, this.#o.silence!.maxStalenessMs)
  }

  #probeAfterMs(): number {
    if (this.#o.silence === undefined) return Number.POSITIVE_INFINITY
    const silence = this.#silenceMs()
    return silence - Math.min(this.#o.silence.refreshAheadMs, silence / 2)
  }

  #armWatchdog(ms: number): void {
    if (this.#state === 'closed' || !Number.isFinite(ms)) return
    this.#watchdog = unrefTimeout(() => {
      this.#watchdog = undefined
      this.#checkSilence()
    }, Math.max(1, ms))
  }

  #checkSilence(): void {
    if (this.#state !== 'healthy') return
    const silentMs = this.#o.now() - this.#confirmedAt
    const probeAfter = this.#probeAfterMs()
    if (silentMs < probeAfter) return this.#armWatchdog(probeAfter - silentMs)
    const silence = this.#silenceMs()
    if (silentMs < silence) {
      void this.refresh(true)
      return this.#armWatchdog(silence - silentMs)
    }
    const error = new TimeoutError(`${this.#source.what}: no confirmation from the server for ${Math.round(silentMs)} ms (maxStalenessMs ${this.#o.silence!.maxStalenessMs})`, {
      details: { ...this.#source.details, silentMs },
    })
    // The probe in flight reports its own outcome; without one, re-list on the backoff.
    this.#failed(error, this.#inflight === undefined)
  }
}
