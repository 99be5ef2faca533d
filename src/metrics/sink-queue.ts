/**
 * One sink's delivery queue. Each sink has its own, so a dead Pushgateway never holds up
 * the backend's endpoint. Passes over the queue run one after the other (never two
 * exports to one sink at once); a failed batch stays at the head and is retried after a
 * backoff (at least the server's Retry-After); over `maxPending` the oldest batch not in
 * flight is dropped and counted.
 */
import type { MetricSink } from '../backend.js'
import { GovernanceError, TimeoutError, isGovernanceError } from '../errors.js'
import type { EmitFn } from '../events.js'
import { fullJitterDelay, type BackoffOptions } from '../internal/backoff.js'
import type { Logger } from '../internal/logger.js'
import { settledWithin, unrefTimeout } from '../internal/timers.js'
import type { MetricBatch } from '../types.js'
import type { SpillStore } from './spill.js'

/** A server asking for more than this is not obeyed to the letter: the queue must move. */
const MAX_RETRY_AFTER_MS = 15 * 60_000

/** A flush() waiting on the batches pending when it was called. */
interface FlushWatch {
  readonly targets: ReadonlySet<Entry>
  /** The first of them that the sink refused for good, whichever pass tried it. */
  rejected: GovernanceError | undefined
}

interface Entry {
  readonly batch: MetricBatch
  readonly key: string
  attempts: number
  /** The entry's disk work (save, then remove); removal waits for the save. */
  disk: Promise<void> | undefined
}

export interface SinkQueueOptions {
  readonly sink: MetricSink
  readonly maxPending: number
  readonly exportTimeoutMs: number
  readonly retry: BackoffOptions
  readonly emit: EmitFn
  readonly logger: Logger
  readonly spill: SpillStore | undefined
  /** Counts dropped points into the self-metric. */
  readonly onDropped: (points: number) => void
  readonly random?: () => number
}

export class SinkQueue {
  private readonly entries: Entry[] = []
  private inFlight: Entry | undefined
  private chain: Promise<void> = Promise.resolve()
  private passes = 0
  private retryTimer: NodeJS.Timeout | undefined
  private failures = 0
  private closed = false
  private readonly ready: Promise<void>
  /** Saves and removals still running; close() waits for them so the folder is settled. */
  private readonly diskWork = new Set<Promise<void>>()
  private readonly watches = new Set<FlushWatch>()

  constructor(private readonly options: SinkQueueOptions) {
    this.ready = options.spill === undefined ? Promise.resolve() : this.restore(options.spill)
    if (options.spill !== undefined) this.resumeAfterRestore()
  }

  get name(): string {
    return this.options.sink.name
  }

  enqueue(batch: MetricBatch): void {
    const spill = this.options.spill
    const entry: Entry = { batch, key: spill?.nextKey(batch) ?? batch.batchId, attempts: 0, disk: undefined }
    if (spill !== undefined) entry.disk = this.track(spill.save(entry.key, batch), 'save')
    this.entries.push(entry)
    this.trim()
    this.kick()
  }

  /**
   * One pass now, after any running one, skipping the backoff wait. Rejects with the
   * failure that stopped it, or when one of the batches pending at the call was refused
   * for good (whichever pass tried it).
   */
  async flush(): Promise<void> {
    const watch: FlushWatch = { targets: new Set(this.entries), rejected: undefined }
    this.watches.add(watch)
    try {
      await this.schedulePass(true)
    } finally {
      this.watches.delete(watch)
    }
    if (watch.rejected !== undefined) throw watch.rejected
  }

  /** A last pass, then what is left is kept on disk (dataDir) or dropped; closes the sink. */
  async close(): Promise<void> {
    this.closed = true
    this.clearRetry()
    await this.schedulePass(true).catch(() => undefined)
    const left = this.entries.splice(0)
    if (left.length > 0 && this.options.spill !== undefined) {
      this.options.logger.info(`metrics: ${left.length} undelivered batch(es) for sink ${this.name} kept on disk for the next start`)
    } else if (left.length > 0) {
      this.drop(left, 'closed')
    }
    await Promise.all(this.diskWork)
    const closing = Promise.resolve().then(() => this.options.sink.close?.())
    closing.catch((error: unknown) => this.options.logger.warn(`metrics: closing sink ${this.name} failed`, { error }))
    // Bounded like an export: a sink whose close() never settles must not hold up gov.close().
    if (!(await settledWithin(closing, this.options.exportTimeoutMs))) {
      this.options.logger.warn(`metrics: closing sink ${this.name} did not finish within ${this.options.exportTimeoutMs} ms; going on without it`)
    }
  }

  private kick(): void {
    if (this.closed || this.passes > 0 || this.retryTimer !== undefined) return
    this.schedulePass(false).catch(() => undefined)
  }

  /** Passes are chained: whoever asks, one export at a time reaches the sink. */
  private schedulePass(failFast: boolean): Promise<void> {
    this.passes += 1
    const run = this.chain.then(() => this.pass(failFast))
    this.chain = run.catch(() => undefined)
    return run
  }

  private async pass(failFast: boolean): Promise<void> {
    // `passes` drops in the same synchronous step that sees the queue empty, so a batch
    // enqueued right after always finds no pass running and starts one.
    try {
      await this.ready
      if (failFast) this.clearRetry()
      for (let entry = this.entries[0]; entry !== undefined; entry = this.entries[0]) {
        const error = await this.attempt(entry)
        if (error === undefined) continue
        if (!error.retryable) {
          // Sending it again cannot help: drop it and go on with the rest.
          this.remove(entry)
          this.drop([entry], 'rejected')
          for (const w of this.watches) if (w.targets.has(entry)) w.rejected ??= error
          continue
        }
        if (!this.closed) this.scheduleRetry(error)
        if (failFast) throw error
        return
      }
    } finally {
      this.passes -= 1
    }
  }

  /** Exports one batch; undefined on success, else the failure (already reported). */
  private async attempt(entry: Entry): Promise<GovernanceError | undefined> {
    entry.attempts += 1
    this.inFlight = entry
    try {
      await this.exportWithDeadline(entry.batch)
    } catch (caught) {
      const error = this.normalize(caught)
      this.failures += 1
      this.options.emit('metrics:exportFailed', { sink: this.name, batchId: entry.batch.batchId, attempt: entry.attempts, error })
      if (this.failures === 1) this.options.logger.warn(`metrics: export to sink ${this.name} failed; retrying`, { error })
      return error
    } finally {
      this.inFlight = undefined
    }
    if (this.failures > 0) this.options.logger.info(`metrics: sink ${this.name} accepts batches again after ${this.failures} failure(s)`)
    this.failures = 0
    this.remove(entry)
    this.options.emit('metrics:exported', { sink: this.name, batchId: entry.batch.batchId, points: entry.batch.points.length })
    return undefined
  }

  /**
   * The deadline is passed to the sink (signal + timeoutMs) and also enforced here, so a
   * sink that ignores its signal cannot stall the queue for ever.
   */
  private async exportWithDeadline(batch: MetricBatch): Promise<void> {
    const ms = this.options.exportTimeoutMs
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = unrefTimeout(() => {
        const error = new TimeoutError(`metric sink ${this.name} did not finish an export within ${ms} ms`, { details: { sink: this.name } })
        controller.abort(error)
        reject(error)
      }, ms)
    })
    try {
      const ctx = { signal: controller.signal, timeoutMs: ms, reportDropped: this.reportPartialDrop }
      await Promise.race([this.options.sink.export(batch, ctx), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  private normalize(caught: unknown): GovernanceError {
    if (isGovernanceError(caught)) return caught
    // A sink outside the contract threw something else: assume a passing failure.
    const message = caught instanceof Error ? caught.message : String(caught)
    return new GovernanceError(`metric sink ${this.name} failed: ${message}`, { cause: caught, retryable: true })
  }

  private scheduleRetry(error: GovernanceError): void {
    this.clearRetry()
    const retryAfter = error.details?.retryAfterMs
    const backoff = fullJitterDelay(this.failures - 1, this.options.retry, this.options.random)
    const delay = typeof retryAfter === 'number' && retryAfter >= 0 ? Math.min(Math.max(retryAfter, 1), MAX_RETRY_AFTER_MS) : backoff
    this.retryTimer = unrefTimeout(() => {
      this.retryTimer = undefined
      this.kick()
    }, delay)
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  /** Over the bound: drop the oldest batch that is not being exported right now. */
  private trim(): void {
    const dropped: Entry[] = []
    while (this.entries.length > this.options.maxPending) {
      const index = this.entries[0] === this.inFlight ? 1 : 0
      dropped.push(...this.entries.splice(index, 1))
    }
    if (dropped.length > 0) this.drop(dropped, 'queue-full')
  }

  /** A sink delivered a batch without some of its metrics: counted and reported like any drop. */
  private readonly reportPartialDrop = (drop: { readonly points: number; readonly reason: string; readonly metrics: readonly string[] }): void => {
    this.options.onDropped(drop.points)
    this.options.emit('metrics:dropped', { sink: this.name, batches: 0, points: drop.points, reason: drop.reason, metrics: drop.metrics })
    this.options.logger.warn(`metrics: sink ${this.name} left out ${drop.metrics.join(', ')} (${drop.points} point(s)): ${drop.reason}`, {
      sink: this.name,
      metrics: drop.metrics,
    })
  }

  private drop(entries: readonly Entry[], reason: 'queue-full' | 'rejected' | 'closed'): void {
    let points = 0
    for (const e of entries) {
      points += e.batch.points.length
      this.forget(e)
    }
    this.options.onDropped(points)
    this.options.emit('metrics:dropped', { sink: this.name, batches: entries.length, points, reason })
    this.options.logger.warn(`metrics: dropped ${entries.length} batch(es), ${points} point(s), for sink ${this.name} (${reason})`)
  }

  private remove(entry: Entry): void {
    const i = this.entries.indexOf(entry)
    if (i >= 0) this.entries.splice(i, 1)
    this.forget(entry)
  }

  /** Deletes the entry's file once its save (if any) has finished. */
  private forget(entry: Entry): void {
    const spill = this.options.spill
    if (spill === undefined) return
    entry.disk = this.track((entry.disk ?? Promise.resolve()).then(() => spill.remove(entry.key)), 'remove')
  }

  private track(work: Promise<void>, what: string): Promise<void> {
    const settled = work.catch((error: unknown) => this.diskFailed(what, error))
    this.diskWork.add(settled)
    void settled.then(() => this.diskWork.delete(settled))
    return settled
  }

  private async restore(spill: SpillStore): Promise<void> {
    try {
      const loaded = await spill.load()
      if (loaded.length === 0) return
      this.entries.unshift(...loaded.map((l): Entry => ({ batch: l.batch, key: l.key, attempts: 0, disk: undefined })))
      this.options.logger.info(`metrics: resending ${loaded.length} batch(es) spilled by a previous run for sink ${this.name}`)
      this.trim()
    } catch (error) {
      this.diskFailed('load', error)
    }
  }

  /** Starts delivering what a previous run left, without waiting for the next collection. */
  private resumeAfterRestore(): void {
    void this.ready.then(() => this.kick())
  }

  private diskFailed(what: string, error: unknown): void {
    this.options.logger.warn(`metrics: could not ${what} spilled batches for sink ${this.name}`, { error, dir: this.options.spill?.dir })
  }
}
