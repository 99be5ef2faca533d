/**
 * One client's etcd watches on as few gateway streams as possible.
 *
 * etcd's watch API takes many create requests on one stream; each names its own
 * `watch_id` (etcd 3.4+), which its `created` frame and events carry. The JSON gateway is
 * half-duplex (nothing can be added once the request body is sent), so watches that start
 * together share one stream, and a stream that is not full is re-opened together with the
 * next batch: each watch resumes after its last revision, so nothing is lost or repeated.
 *
 * The gateway's HTTP/1.1 server stops reading a request body once it has flushed the first
 * answer, so create requests past the first few kilobytes of a body may never reach etcd
 * (seen on etcd 3.4.23: 24 of 200 created). So a stream's body is kept under
 * `STREAM_BODY_BYTES`, and a watch whose `created` has not come within the request timeout
 * is moved to another stream. See docs/backends/etcd.md.
 *
 * Liveness: a stream silent for `idleMs` gets a probe (a cheap linearizable read on its
 * member alone). An answer confirms every watch on it; no answer means the member hangs:
 * the stream is dropped and its watches re-open on the next member after a backoff.
 */
import { ServerError, ServerUnavailableError, TimeoutError } from '../../errors.js'
import { fullJitterDelay, type BackoffOptions } from '../../internal/backoff.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import type { JsonStream } from '../../transport/types.js'
import { asRecord, int64Field } from './codec.js'
import type { StreamSource } from './stream-source.js'

/** One watch as the hub sees it (RangeWatch in watch-stream.ts). */
export interface HubEntry {
  /** The create request, resuming after the watch's last revision. */
  createRequest(): Record<string, unknown>
  /** A result frame addressed to this watch: events, a progress notification, a cancel. */
  frame(result: Record<string, unknown>, headers: Readonly<Record<string, string>>): void
  /** The member answered a probe: the watch's state is still current. */
  confirmed(): void
  /** Its stream broke; the hub re-opens it after a backoff. */
  broken(error: unknown): void
}

export interface WatchHubOptions {
  readonly streams: StreamSource
  readonly headers: () => Promise<Record<string, string>>
  readonly requestTimeoutMs: number
  readonly backoff: BackoffOptions
  readonly logger: Logger
  readonly watchesPerStream: number
  readonly idleMs: number
  readonly probeTimeoutMs: number
}

/** Watches that arrive within this window share one stream. */
const BATCH_MS = 20
/** Create requests that fit in what the gateway reads before its first answer (see above). */
export const STREAM_BODY_BYTES = 3_000
/** A stream that lived this long was healthy: the next failure starts the backoff afresh. */
const HEALTHY_STREAM_MS = 5_000

class SharedStream {
  readonly controller = new AbortController()
  /** Entry by the watch_id it was created with ("1", "2", …). */
  readonly byId = new Map<string, HubEntry>()
  readonly created = new Set<HubEntry>()
  lastFrameAt = Date.now()
  probing = false
  /** Its entries moved to another stream: its end is not a failure. */
  retired = false
  failure: unknown
  member: number | undefined
  headers: Readonly<Record<string, string>> = {}
  stream: JsonStream | undefined

  constructor(readonly entries: HubEntry[]) {
    // A lone watch takes etcd's own first id (0); several name theirs from 1 on.
    entries.forEach((e, i) => this.byId.set(String(watchIdOf(entries, i)), e))
  }
}

export class WatchHub {
  private readonly wanted = new Set<HubEntry>()
  private readonly pending = new Set<HubEntry>()
  private readonly owner = new Map<HubEntry, SharedStream>()
  private readonly open = new Set<SharedStream>()
  private flushTimer: NodeJS.Timeout | undefined
  private failures = 0
  private closed = false

  constructor(private readonly o: WatchHubOptions) {}

  /** Watches currently held (for limits and benchmarks). */
  get size(): number {
    return this.wanted.size
  }

  /** Streams currently open or opening. */
  get streamCount(): number {
    return this.open.size
  }

  add(entry: HubEntry): void {
    if (this.closed) return
    this.wanted.add(entry)
    this.pending.add(entry)
    this.schedule(BATCH_MS)
  }

  remove(entry: HubEntry): void {
    this.wanted.delete(entry)
    this.pending.delete(entry)
    const s = this.owner.get(entry)
    if (s === undefined) return
    this.owner.delete(entry)
    // Nothing left to serve: let the connection go.
    if (!s.entries.some((e) => this.owner.get(e) === s)) this.retire(s)
  }

  close(): void {
    this.closed = true
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    for (const s of this.open) this.retire(s)
    this.wanted.clear()
    this.pending.clear()
  }

  private schedule(delayMs: number): void {
    if (this.flushTimer !== undefined || this.closed) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      this.flush()
    }, delayMs)
  }

  private flush(): void {
    if (this.pending.size === 0 || this.closed) return
    const batch = [...this.pending]
    this.pending.clear()
    // Streams that are not full re-open with the batch, so a client ends on few streams.
    const lines = new Map(batch.map((e) => [e, lineOf(e, 0)]))
    let room = this.o.watchesPerStream * STREAM_BODY_BYTES
    for (const l of lines.values()) room -= l.length
    for (const s of this.open) {
      const live = this.liveEntries(s)
      const bytes = live.reduce((n, e) => n + lineOf(e, 0).length, 0)
      if (s.retired || live.length >= this.o.watchesPerStream || bytes > STREAM_BODY_BYTES / 2 || bytes > room) continue
      this.retire(s)
      room -= bytes
      batch.push(...live)
    }
    for (const group of this.groups(batch)) void this.run(new SharedStream(group))
  }

  /** Splits watches into streams of at most watchesPerStream and STREAM_BODY_BYTES of body. */
  private groups(batch: readonly HubEntry[]): HubEntry[][] {
    const out: HubEntry[][] = []
    let group: HubEntry[] = []
    let bytes = 0
    for (const e of batch) {
      const size = lineOf(e, group.length + 1).length + 1
      if (group.length > 0 && (group.length >= this.o.watchesPerStream || bytes + size > STREAM_BODY_BYTES)) {
        out.push(group)
        group = []
        bytes = 0
      }
      group.push(e)
      bytes += size
    }
    if (group.length > 0) out.push(group)
    return out
  }

  private liveEntries(s: SharedStream): HubEntry[] {
    return s.entries.filter((e) => this.owner.get(e) === s)
  }

  private retire(s: SharedStream): void {
    s.retired = true
    s.controller.abort(new Error('watch stream retired'))
  }

  private async run(s: SharedStream): Promise<void> {
    for (const e of s.entries) this.owner.set(e, s)
    this.open.add(s)
    const started = Date.now()
    let error: unknown
    try {
      await this.follow(s)
      error = new ServerUnavailableError('etcd watch stream ended')
    } catch (thrown) {
      error = s.failure ?? thrown
    } finally {
      this.open.delete(s)
    }
    if (s.retired || this.closed) return
    if (Date.now() - started >= HEALTHY_STREAM_MS) this.failures = 0
    if (s.member !== undefined) this.o.streams.failed(s.member)
    const orphans = this.liveEntries(s)
    for (const e of orphans) {
      this.owner.delete(e)
      e.broken(error)
    }
    this.o.logger.debug('etcd watch stream broke; re-opening', { watches: orphans.length, error: (error as Error)?.message })
    await sleep(fullJitterDelay(this.failures++, this.o.backoff)).catch(() => undefined)
    for (const e of orphans) if (this.wanted.has(e) && !this.owner.has(e)) this.pending.add(e)
    this.schedule(0)
  }

  private async follow(s: SharedStream): Promise<void> {
    s.headers = await this.o.headers()
    const lines = s.entries.map((e, i) => lineOf(e, watchIdOf(s.entries, i))).join('\n') + '\n'
    const opened = await this.o.streams.open(lines, s.headers, this.o.requestTimeoutMs, s.controller.signal)
    s.member = opened.member
    s.stream = opened.stream
    s.lastFrameAt = Date.now()
    const idle = setInterval(() => this.checkIdle(s), Math.max(50, Math.floor(this.o.idleMs / 4)))
    idle.unref()
    const lost = setTimeout(() => this.moveUncreated(s), this.o.requestTimeoutMs)
    lost.unref()
    try {
      for await (const frame of opened.stream.frames) {
        s.lastFrameAt = Date.now()
        this.route(s, frame)
        if (s.retired) return
      }
    } finally {
      clearInterval(idle)
      clearTimeout(lost)
      opened.stream.close()
    }
  }

  /** Create requests the gateway never passed on: those watches go to a stream of their own. */
  private moveUncreated(s: SharedStream): void {
    if (s.retired) return
    const missing = this.liveEntries(s).filter((e) => !s.created.has(e))
    if (missing.length === 0) return
    this.o.logger.debug('etcd watch: create requests not answered; re-opening them', { watches: missing.length })
    for (const e of missing) {
      this.owner.delete(e)
      this.pending.add(e)
    }
    if (this.liveEntries(s).length === 0) this.retire(s)
    this.schedule(0)
  }

  private route(s: SharedStream, frame: unknown): void {
    const f = asRecord(frame, 'watch frame')
    if (f.error !== undefined) throw streamError(asRecord(f.error, 'watch frame error'))
    const result = asRecord(f.result, 'watch frame result')
    const id = int64Field(result.watch_id, 'watch frame watch_id')
    const entry = s.byId.get(id)
    if (entry === undefined || this.owner.get(entry) !== s) return
    if (result.created === true) {
      s.created.add(entry)
      if (result.canceled !== true) return
    }
    if (result.canceled === true) {
      s.byId.delete(id)
      this.owner.delete(entry)
    }
    entry.frame(result, s.headers)
  }

  /** A stream silent past `idleMs`: ask its member; no answer means it hangs. */
  private checkIdle(s: SharedStream): void {
    if (s.probing || s.retired || s.member === undefined || Date.now() - s.lastFrameAt < this.o.idleMs) return
    const key = s.entries[0]?.createRequest().key
    if (typeof key !== 'string') return
    s.probing = true
    this.o.streams
      .probe(s.member, key, s.headers, this.o.probeTimeoutMs, s.controller.signal)
      .then(
        () => {
          s.lastFrameAt = Date.now()
          for (const e of this.liveEntries(s)) e.confirmed()
        },
        (error: unknown) => {
          if (s.controller.signal.aborted) return
          s.failure = new TimeoutError(`etcd watch stream: its member did not answer a probe within ${this.o.probeTimeoutMs} ms`, { cause: error })
          s.controller.abort(s.failure)
        },
      )
      .finally(() => (s.probing = false))
  }
}

function watchIdOf(entries: readonly HubEntry[], index: number): number {
  return entries.length === 1 ? 0 : index + 1
}

/** One NDJSON line of a stream's body: the watch's create request under the given watch_id. */
function lineOf(entry: HubEntry, watchId: number): string {
  return JSON.stringify({ create_request: { ...entry.createRequest(), ...(watchId > 0 && { watch_id: String(watchId) }) } })
}

function streamError(error: Record<string, unknown>): ServerUnavailableError | ServerError {
  const message = `etcd watch stream failed: ${typeof error.message === 'string' ? error.message : 'no message'}`
  const details = { grpcCode: error.grpc_code, httpCode: error.http_code }
  // 14 UNAVAILABLE ("no leader", "transport is closing"): another member may serve.
  return error.grpc_code === 14 ? new ServerUnavailableError(message, { details }) : new ServerError(message, { details })
}
