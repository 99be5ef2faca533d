/**
 * Keeps one ServiceEntry current; the one owner of its loop. With a pushing backend it holds a
 * watch; without one it polls. When the watch breaks or a refresh fails it re-lists with
 * resolve() on a backoff until the server answers, applies the difference, and watches again
 * after the revision it has, so no change is lost and no state goes backwards.
 */
import type { Backend, Unsubscribe, Watcher } from '../backend.js'
import { ProtocolError, TimeoutError, toGovernanceError, type GovernanceError } from '../errors.js'
import { fullJitterDelay, type BackoffOptions } from '../internal/backoff.js'
import { guardedCall } from '../internal/guarded-call.js'
import type { Logger } from '../internal/logger.js'
import { unrefTimeout } from '../internal/timers.js'
import { describeValue } from '../internal/describe.js'
import { INSTANCE_STATUSES, isRevision, type ServiceSnapshot } from '../types.js'
import type { ServiceEntry } from './entry.js'

export interface FeedOptions {
  readonly backend: Backend
  readonly logger: Logger
  readonly now: () => number
  readonly requestTimeoutMs: number
  readonly pollIntervalMs: number
  readonly backoff: BackoffOptions
  /** A served answer older than this (since the last confirmation) is no longer live. */
  readonly maxStalenessMs: number
  /** A silent feed is probed with resolve() this long before maxStalenessMs. */
  readonly refreshAheadMs: number
  readonly random?: () => number
}

const DONE: Promise<void> = Promise.resolve()
/**
 * The silence bound never goes below this, so a tiny maxStalenessMs cannot turn the watchdog
 * into a storm of probes and stale events; such calls take the slow path, which refreshes
 * per call (see ServiceEntry's fast path).
 */
export const MIN_SILENCE_MS = 1_000
/** Past the call's own deadline, for a backend that honours it to report its own error first. */
const GRACE_MS = 100

export class Feed {
  readonly #entry: ServiceEntry
  readonly #o: FeedOptions
  readonly #abort = new AbortController()
  #subscription: { stop: Unsubscribe | undefined } | undefined
  #timer: NodeJS.Timeout | undefined
  /** Checks that the server keeps confirming the data (see #checkSilence). */
  #watchdog: NodeJS.Timeout | undefined
  #inflight: Promise<void> | undefined
  #failures = 0
  #lastAttemptAt = Number.NEGATIVE_INFINITY
  #closed = false

  constructor(entry: ServiceEntry, options: FeedOptions) {
    this.#entry = entry
    this.#o = options
  }

  get push(): boolean {
    return typeof this.#o.backend.watchService === 'function'
  }

  /**
   * One resolve now, shared by concurrent callers; never rejects (the outcome is on the
   * entry). During an outage, callers are held to the backoff's minimum gap so a burst of
   * discover() calls cannot hammer a server that is down; the background retry is not.
   */
  refresh(force = false): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight
    if (this.#closed) return DONE
    if (!force && this.#entry.outage && this.#o.now() - this.#lastAttemptAt < this.#o.backoff.minDelayMs) return DONE
    this.#inflight = this.#attempt()
      .catch((error: unknown) => this.#o.logger.error('discovery: refresh failed unexpectedly', { service: this.#entry.service, error }))
      .finally(() => (this.#inflight = undefined))
    return this.#inflight
  }

  close(): void {
    this.#closed = true
    this.#abort.abort()
    clearTimeout(this.#timer)
    clearTimeout(this.#watchdog)
    this.#timer = undefined
    this.#watchdog = undefined
    this.#unsubscribe()
  }

  async #attempt(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const epoch = this.#entry.epoch
    this.#lastAttemptAt = this.#o.now()
    let snapshot: ServiceSnapshot
    try {
      const { backend, requestTimeoutMs } = this.#o
      const service = this.#entry.service
      // Guarded: a backend that ignores its deadline must not hold every discover() for ever.
      const answer = await guardedCall(`resolving ${service}`, (ctx) => backend.resolve(service, ctx), requestTimeoutMs, this.#abort.signal, GRACE_MS)
      snapshot = checkSnapshot(answer, service)
    } catch (error) {
      if (this.#closed) return
      // The watch confirmed the data after this call began: its failure is older news.
      if (this.#subscription !== undefined && this.#entry.confirmedAt > this.#lastAttemptAt && !this.#entry.outage) return
      this.#broken(toGovernanceError(error, `resolving ${this.#entry.service} failed`))
      return
    }
    if (this.#closed) return
    this.#failures = 0
    this.#entry.acceptResolved(snapshot, epoch)
    this.#confirmed()
    if (this.push) this.#subscribe()
    else this.#schedule(this.#o.pollIntervalMs)
  }

  #subscribe(): void {
    if (this.#subscription !== undefined || this.#closed) return
    const subscription: { stop: Unsubscribe | undefined } = { stop: undefined }
    this.#subscription = subscription
    const watcher: Watcher<ServiceSnapshot> = {
      next: (value, meta) => {
        if (this.#subscription !== subscription) return
        try {
          this.#entry.acceptWatched(checkSnapshot(value, this.#entry.service), meta.reset)
        } catch (error) {
          return watcher.error(toGovernanceError(error))
        }
        this.#confirmed()
      },
      confirmed: () => {
        if (this.#subscription === subscription) this.#confirmed()
      },
      error: (error) => {
        if (this.#subscription !== subscription) return
        this.#unsubscribe()
        this.#broken(toGovernanceError(error))
      },
    }
    const revision = this.#entry.revision
    try {
      subscription.stop = this.#o.backend.watchService!(this.#entry.service, watcher, revision === undefined ? undefined : { afterRevision: revision })
    } catch (error) {
      watcher.error(toGovernanceError(error, `watching ${this.#entry.service} failed`))
    }
  }

  /** The server answered or confirmed: healthy, and the silence watchdog runs. */
  #confirmed(): void {
    this.#failures = 0
    this.#entry.markHealthy()
    if (this.#watchdog === undefined) this.#armWatchdog(this.#probeAfterMs())
  }

  #silenceMs(): number {
    return Math.max(MIN_SILENCE_MS, this.#o.maxStalenessMs)
  }

  #probeAfterMs(): number {
    const silence = this.#silenceMs()
    return silence - Math.min(this.#o.refreshAheadMs, silence / 2)
  }

  #armWatchdog(ms: number): void {
    if (this.#closed || !Number.isFinite(ms)) return
    this.#watchdog = unrefTimeout(() => {
      this.#watchdog = undefined
      this.#checkSilence()
    }, Math.max(1, ms))
  }

  /**
   * Freshness counts from the last confirmation. A feed silent past the refresh-ahead point
   * is probed with resolve() (whose answer confirms); one silent past maxStalenessMs is no
   * longer live: the entry is marked broken (source 'memory', `discovery:stale`) and the
   * probe's failure or success takes it from there.
   */
  #checkSilence(): void {
    if (this.#closed || this.#entry.outage) return
    const silentMs = this.#o.now() - this.#entry.confirmedAt
    const probeAfter = this.#probeAfterMs()
    if (silentMs < probeAfter) return this.#armWatchdog(probeAfter - silentMs)
    const silence = this.#silenceMs()
    if (silentMs < silence) {
      void this.refresh(true)
      return this.#armWatchdog(silence - silentMs)
    }
    const error = new TimeoutError(`discovery of ${this.#entry.service}: no confirmation from the server for ${Math.round(silentMs)} ms (maxStalenessMs ${this.#o.maxStalenessMs})`, {
      details: { service: this.#entry.service, silentMs },
    })
    // The probe in flight reports its own outcome; without one, re-list on the backoff.
    if (this.#inflight === undefined) this.#broken(error)
    else this.#entry.markBroken(error)
  }

  #unsubscribe(): void {
    const subscription = this.#subscription
    this.#subscription = undefined
    try {
      subscription?.stop?.()
    } catch (error) {
      this.#o.logger.warn('discovery: unsubscribing a watch threw', { service: this.#entry.service, error })
    }
  }

  /** The feed is down: tell the entry and re-list after a backoff (the watch resumes after it). */
  #broken(error: GovernanceError): void {
    this.#entry.markBroken(error)
    const delay = fullJitterDelay(this.#failures++, this.#o.backoff, this.#o.random)
    this.#schedule(this.push ? delay : Math.min(delay, this.#o.pollIntervalMs))
  }

  #schedule(ms: number): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = unrefTimeout(() => {
      this.#timer = undefined
      void this.refresh(true)
    }, ms)
  }
}

/**
 * A backend must hand over well-formed snapshots; anything else is a protocol error, not a
 * crash further down (a null instance in a picker) and not garbage handed to the application
 * (a port "9"). The protocol v1 backend decodes strictly already; third-party ones may not.
 */
function checkSnapshot(value: ServiceSnapshot, service: string): ServiceSnapshot {
  const problem =
    typeof value !== 'object' || value === null
      ? `no snapshot object (${describeValue(value)})`
      : !Array.isArray(value.instances)
        ? `instances is ${describeValue(value.instances)}, not an array`
        : !isRevision(value.revision)
          ? `revision ${describeValue(value.revision)} is not a decimal string`
          : instancesProblem(value.instances)
  if (problem !== undefined) {
    throw new ProtocolError(`the backend answered a malformed snapshot for ${service}: ${problem}`, { details: { service } })
  }
  return value
}

const STATUSES: ReadonlySet<unknown> = new Set(INSTANCE_STATUSES)

function instancesProblem(instances: readonly unknown[]): string | undefined {
  for (let i = 0; i < instances.length; i++) {
    const problem = instanceProblem(instances[i])
    if (problem !== undefined) return `instances[${i}]${problem}`
  }
  return undefined
}

function instanceProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return ` is ${describeValue(value)}, not an instance`
  const o = value as Record<string, unknown>
  if (typeof o.id !== 'string' || o.id === '') return `.id is ${describeValue(o.id)}, not a non-empty string`
  if (typeof o.service !== 'string') return `.service is ${describeValue(o.service)}, not a string`
  if (typeof o.address !== 'string' || o.address === '') return `.address is ${describeValue(o.address)}, not a non-empty string`
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) return `.port is ${describeValue(o.port)}, not an integer from 1 to 65535`
  if (!STATUSES.has(o.status)) return `.status is ${describeValue(o.status)}, not one of ${INSTANCE_STATUSES.join(', ')}`
  if (typeof o.weight !== 'number' || !Number.isFinite(o.weight) || o.weight < 0) return `.weight is ${describeValue(o.weight)}, not a number >= 0`
  if (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string')) return `.tags is ${describeValue(o.tags)}, not an array of strings`
  if (typeof o.metadata !== 'object' || o.metadata === null || Object.values(o.metadata).some((v) => typeof v !== 'string')) {
    return `.metadata is ${describeValue(o.metadata)}, not an object of strings`
  }
  if (o.zone !== undefined && typeof o.zone !== 'string') return `.zone is ${describeValue(o.zone)}, not a string`
  return undefined
}
