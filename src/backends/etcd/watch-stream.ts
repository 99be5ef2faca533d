/**
 * A watch over one key or one prefix that hands out full states, never deltas.
 *
 * It reads the range once, then follows etcd's watch from the next revision through the
 * backend's WatchHub (watch-hub.ts: many watches per stream), applying events to its copy
 * of the range. After any break it resumes from the last revision it delivered (or was
 * told of by a progress notification) + 1, so no change is missed or repeated; when etcd
 * says that history was compacted it reads the range again and delivers it as a reset.
 */
import type { Unsubscribe, Watcher, WatchMeta } from '../../backend.js'
import { AuthError, ServerError, toGovernanceError } from '../../errors.js'
import { fullJitterDelay, type BackoffOptions } from '../../internal/backoff.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import { isTokenProblemText } from './auth.js'
import { asArray, asRecord, int64Field, maxRevision, nextRevision } from './codec.js'
import type { Gateway } from './gateway.js'
import { isCompactedError, isFutureRevisionError, keySelector, parseKeyValue, range, type KeyValue } from './kv.js'
import type { HubEntry, WatchHub } from './watch-hub.js'

export interface RangeWatchOptions<T> {
  readonly gateway: Gateway
  readonly hub: WatchHub
  readonly key: string
  readonly prefix: boolean
  /** Resume after this revision: the first delivery is the first change after it. */
  readonly afterRevision?: string
  readonly render: (kvs: ReadonlyMap<string, KeyValue>, revision: string) => T
  /** True when two states are the same to a watcher; an unchanged state is not delivered. */
  readonly same: (a: T, b: T) => boolean
  readonly watcher: Watcher<T>
  readonly backoff: BackoffOptions
  readonly requestTimeoutMs: number
  readonly logger: Logger
}

export function startRangeWatch<T>(options: RangeWatchOptions<T>): Unsubscribe {
  const controller = new AbortController()
  new RangeWatch(options).run(controller.signal).catch((error: unknown) => {
    // run() handles every failure itself; this only keeps a bug from becoming an unhandled rejection.
    options.logger.error('etcd watch loop failed', { key: options.key, error })
  })
  return () => controller.abort(new Error('watch unsubscribed'))
}

/** How a watch's time on the hub ended: compacted history, or a refusal (auth, a bad request). */
type HubEnd = { readonly compacted: true } | { readonly compacted: false; readonly error: unknown }

class RangeWatch<T> implements HubEntry {
  private kvs: Map<string, KeyValue> | undefined
  /** The last revision delivered (or read, or confirmed by progress): the watch resumes after it. */
  private revision = '0'
  private last: { value: T } | undefined
  private failures = 0
  private ended: ((end: HubEnd) => void) | undefined

  constructor(private readonly o: RangeWatchOptions<T>) {}

  async run(signal: AbortSignal): Promise<void> {
    let initial = true
    while (!signal.aborted) {
      try {
        if (this.kvs === undefined) {
          await (initial ? this.start(signal) : this.list(signal, true))
          initial = false
        }
      } catch (error) {
        if (signal.aborted) return
        this.report(error)
        await sleep(fullJitterDelay(this.failures++, this.o.backoff), signal).catch(() => undefined)
        continue
      }
      const end = await this.follow(signal)
      if (end === undefined) return
      if (end.compacted) {
        this.kvs = undefined
        continue
      }
      this.report(end.error)
      await sleep(fullJitterDelay(this.failures++, this.o.backoff), signal).catch(() => undefined)
    }
  }

  /** Follows the watch on the hub until etcd cancels it; undefined once unsubscribed. */
  private follow(signal: AbortSignal): Promise<HubEnd | undefined> {
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.o.hub.remove(this)
        resolve(undefined)
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.ended = (end) => {
        signal.removeEventListener('abort', onAbort)
        this.ended = undefined
        this.o.hub.remove(this)
        resolve(end)
      }
      this.o.hub.add(this)
    })
  }

  createRequest(): Record<string, unknown> {
    return { ...keySelector(this.o.key, this.o.prefix), start_revision: nextRevision(this.revision), progress_notify: true }
  }

  frame(result: Record<string, unknown>, headers: Readonly<Record<string, string>>): void {
    if (result.canceled === true) {
      if (int64Field(result.compact_revision, 'watch compact_revision') !== '0') return this.ended?.({ compacted: true })
      const reason = typeof result.cancel_reason === 'string' ? result.cancel_reason : 'no reason given'
      if (isTokenProblemText(reason)) this.o.gateway.tokenRejected(headers)
      return this.ended?.({ compacted: false, error: cancelError(reason) })
    }
    const events = asArray(result.events, 'watch events')
    if (events.length > 0) return this.apply(events)
    if (result.created === true) return
    // A progress notification: every event up to its revision has been sent.
    const header = result.header === undefined ? {} : asRecord(result.header, 'watch frame header')
    const at = int64Field(header.revision, 'watch frame header.revision')
    this.revision = maxRevision(this.revision, at)
    this.confirmed()
  }

  confirmed(): void {
    try {
      this.o.watcher.confirmed?.({ revision: this.revision })
    } catch (error) {
      this.o.logger.error('etcd watch confirmed listener threw', { key: this.o.key, error })
    }
  }

  broken(error: unknown): void {
    this.report(error)
  }

  /** The first read: the current state, or the state at `afterRevision` when resuming. */
  private async start(signal: AbortSignal): Promise<void> {
    const after = this.o.afterRevision
    if (after === undefined) return this.list(signal, false)
    try {
      const read = await range(this.o.gateway, this.o.key, { prefix: this.o.prefix, revision: after }, this.ctx(signal))
      this.kvs = new Map(read.kvs.map((kv) => [kv.key, kv]))
      this.revision = after
      this.last = this.renderQuietly(this.kvs, after)
    } catch (error) {
      // That history is gone (compacted) or never existed here (a restored cluster): re-list.
      if (!isCompactedError(error) && !isFutureRevisionError(error)) throw error
      await this.list(signal, true)
    }
  }

  private async list(signal: AbortSignal, reset: boolean): Promise<void> {
    const read = await range(this.o.gateway, this.o.key, { prefix: this.o.prefix }, this.ctx(signal))
    this.kvs = new Map(read.kvs.map((kv) => [kv.key, kv]))
    this.revision = read.revision
    this.failures = 0
    const kvs = this.kvs
    this.deliver(() => this.o.render(kvs, read.revision), { revision: read.revision, reset }, true)
  }

  private apply(events: readonly unknown[]): void {
    const kvs = this.kvs as Map<string, KeyValue>
    const before = this.revision
    let revision = before
    for (const [i, raw] of events.entries()) {
      const event = asRecord(raw, `watch events[${i}]`)
      const kv = parseKeyValue(event.kv, `watch events[${i}].kv`)
      // Already part of the state (a repeat after a resume): applying it again would be wrong.
      if (BigInt(kv.modRevision) <= BigInt(before)) continue
      if (event.type === 'DELETE') kvs.delete(kv.key)
      else kvs.set(kv.key, kv)
      revision = maxRevision(revision, kv.modRevision)
    }
    if (revision === before) return
    this.revision = revision
    this.failures = 0
    this.deliver(() => this.o.render(kvs, revision), { revision, reset: false }, false)
  }

  /**
   * A state that cannot be rendered (a malformed value someone wrote) is reported and
   * skipped: the watch goes on from the next change instead of failing over and over.
   */
  private deliver(render: () => T, meta: WatchMeta, always: boolean): void {
    let value: T
    try {
      value = render()
    } catch (error) {
      this.report(error)
      return
    }
    if (!always && this.last !== undefined && this.o.same(this.last.value, value)) return
    this.last = { value }
    try {
      this.o.watcher.next(value, meta)
    } catch (error) {
      this.o.logger.error('etcd watch listener threw', { key: this.o.key, error })
    }
  }

  private renderQuietly(kvs: ReadonlyMap<string, KeyValue>, revision: string): { value: T } | undefined {
    try {
      return { value: this.o.render(kvs, revision) }
    } catch {
      return undefined // reported when the watcher would first have seen it
    }
  }

  private report(error: unknown): void {
    const failure = toGovernanceError(error, `etcd watch on ${this.o.key} failed`)
    this.o.logger.debug('etcd watch broke; resuming', { key: this.o.key, revision: this.revision, error: failure.message })
    try {
      this.o.watcher.error(failure)
    } catch (thrown) {
      this.o.logger.error('etcd watch error listener threw', { key: this.o.key, error: thrown })
    }
  }

  private ctx(signal: AbortSignal): { signal: AbortSignal; timeoutMs: number } {
    return { signal, timeoutMs: this.o.requestTimeoutMs }
  }
}

function cancelError(reason: string): AuthError | ServerError {
  const message = `etcd canceled the watch: ${reason}`
  if (/permission denied|auth/i.test(reason)) return new AuthError(message, { retryable: true })
  return new ServerError(message)
}
