/**
 * A watch over one key or one prefix that hands out full states, never deltas.
 *
 * It reads the range once, then follows etcd's watch from the next revision, applying
 * events to its copy of the range. After any break it resumes from the last revision it
 * delivered + 1, so no change is missed or repeated; when etcd says that history was
 * compacted it reads the range again and delivers it as a reset. Reconnects back off
 * with full jitter and go to the next member (see stream-source.ts).
 */
import type { Unsubscribe, Watcher, WatchMeta } from '../../backend.js'
import { AuthError, ServerError, ServerUnavailableError, toGovernanceError } from '../../errors.js'
import { fullJitterDelay, type BackoffOptions } from '../../internal/backoff.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import { isTokenProblemText } from './auth.js'
import { asArray, asRecord, int64Field, maxRevision, nextRevision } from './codec.js'
import type { Gateway } from './gateway.js'
import { isCompactedError, isFutureRevisionError, keySelector, parseKeyValue, range, type KeyValue } from './kv.js'
import type { StreamSource } from './stream-source.js'

export interface RangeWatchOptions<T> {
  readonly gateway: Gateway
  readonly streams: StreamSource
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

/** A stream that lived this long was healthy: the next failure starts the backoff afresh. */
const HEALTHY_STREAM_MS = 5_000

export function startRangeWatch<T>(options: RangeWatchOptions<T>): Unsubscribe {
  const controller = new AbortController()
  new RangeWatch(options).run(controller.signal).catch((error: unknown) => {
    // run() handles every failure itself; this only keeps a bug from becoming an unhandled rejection.
    options.logger.error('etcd watch loop failed', { key: options.key, error })
  })
  return () => controller.abort(new Error('watch unsubscribed'))
}

type StreamEnd = 'compacted' | 'ended'

class RangeWatch<T> {
  private kvs: Map<string, KeyValue> | undefined
  /** The last revision delivered (or read): the watch resumes after it. */
  private revision = '0'
  private last: { value: T } | undefined
  private failures = 0

  constructor(private readonly o: RangeWatchOptions<T>) {}

  async run(signal: AbortSignal): Promise<void> {
    let initial = true
    while (!signal.aborted) {
      try {
        if (this.kvs === undefined) {
          await (initial ? this.start(signal) : this.list(signal, true))
          initial = false
        }
        const started = Date.now()
        const end = await this.follow(signal)
        if (Date.now() - started >= HEALTHY_STREAM_MS) this.failures = 0
        if (end === 'compacted') {
          this.kvs = undefined
          continue
        }
        // A clean end is a member going away (or a proxy cutting idle streams): move on too.
        this.o.streams.failed()
      } catch (error) {
        if (signal.aborted) return
        this.o.streams.failed()
        this.report(error)
      }
      if (signal.aborted) return
      await sleep(fullJitterDelay(this.failures++, this.o.backoff), signal).catch(() => undefined)
    }
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
    const kvs = this.kvs
    this.deliver(() => this.o.render(kvs, read.revision), { revision: read.revision, reset }, true)
  }

  private async follow(signal: AbortSignal): Promise<StreamEnd> {
    const headers = await this.o.gateway.headers()
    const request = { ...keySelector(this.o.key, this.o.prefix), start_revision: nextRevision(this.revision) }
    const stream = await this.o.streams.open({ create_request: request }, headers, this.o.requestTimeoutMs, signal)
    try {
      for await (const frame of stream.frames) {
        if (signal.aborted) return 'ended'
        if (this.handle(frame, headers) === 'compacted') return 'compacted'
      }
      return 'ended'
    } finally {
      stream.close()
    }
  }

  private handle(frame: unknown, headers: Readonly<Record<string, string>>): StreamEnd | undefined {
    const f = asRecord(frame, 'watch frame')
    if (f.error !== undefined) throw streamError(asRecord(f.error, 'watch frame error'))
    const result = asRecord(f.result, 'watch frame result')
    if (result.canceled === true) {
      if (int64Field(result.compact_revision, 'watch compact_revision') !== '0') return 'compacted'
      const reason = typeof result.cancel_reason === 'string' ? result.cancel_reason : 'no reason given'
      if (isTokenProblemText(reason)) this.o.gateway.tokenRejected(headers)
      throw cancelError(reason)
    }
    const events = asArray(result.events, 'watch events')
    if (events.length > 0) this.apply(events)
    return undefined
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

function streamError(error: Record<string, unknown>): ServerUnavailableError | ServerError {
  const message = `etcd watch stream failed: ${typeof error.message === 'string' ? error.message : 'no message'}`
  const details = { grpcCode: error.grpc_code, httpCode: error.http_code }
  // 14 UNAVAILABLE ("no leader", "transport is closing"): another member may serve.
  return error.grpc_code === 14 ? new ServerUnavailableError(message, { details }) : new ServerError(message, { details })
}

function cancelError(reason: string): AuthError | ServerError {
  const message = `etcd canceled the watch: ${reason}`
  if (/permission denied|auth/i.test(reason)) return new AuthError(message, { retryable: true })
  return new ServerError(message)
}
