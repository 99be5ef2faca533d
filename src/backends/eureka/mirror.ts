/**
 * A local copy of the Eureka registry, kept the way DiscoveryClient.getAndUpdateDelta
 * does: one full fetch, then deltas (ADDED / MODIFIED upsert, DELETED removes), each
 * checked against the server's `apps__hashcode`; a mismatch, a missing delta or a 403
 * (delta disabled) means a full fetch. One poller serves every watch of a backend and runs
 * only while some watch is subscribed.
 */
import { ClientClosedError, ProtocolError, toGovernanceError } from '../../errors.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import type { Transport } from '../../transport/types.js'
import { asArray } from './codec.js'

type Raw = Record<string, unknown>

interface Round {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function newRound(): Round {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => undefined) // a round nobody waits for must not be an unhandled rejection
  return { promise, resolve, reject }
}

/** Applications.getReconcileHashCode. */
export function reconcileHashCode(statuses: Iterable<string>): string {
  const counts = new Map<string, number>()
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1)
  return [...counts.keys()].sort().map((k) => `${k}_${counts.get(k)}_`).join('')
}

export interface MirrorStats {
  full: number
  delta: number
  mismatches: number
}

export class EurekaMirror {
  private readonly apps = new Map<string, Map<string, Raw>>()
  private loaded = false
  private round = newRound()
  private subscribers = 0
  private running = false
  private stopped = false
  private readonly closing = new AbortController()
  readonly stats: MirrorStats = { full: 0, delta: 0, mismatches: 0 }

  constructor(
    private readonly transport: Transport,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** The raw instances of one app, as last fetched. */
  instances(app: string): Raw[] {
    return [...(this.apps.get(app)?.values() ?? [])]
  }

  /** Counts a watch in; the poller runs while there is one. Returns the matching release. */
  subscribe(): () => void {
    this.subscribers++
    if (!this.running && !this.stopped) void this.poll()
    let released = false
    return () => {
      if (!released) this.subscribers--
      released = true
    }
  }

  /** Resolves once the copy holds a full registry (fetching now if need be). */
  async ready(signal: AbortSignal): Promise<void> {
    if (!this.loaded) await this.nextRound(signal)
  }

  /** Settles with the outcome of the next fetch round. */
  nextRound(signal: AbortSignal): Promise<void> {
    const round = this.round.promise
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      round.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  stop(): void {
    this.stopped = true
    this.closing.abort()
    this.round.reject(new ClientClosedError('the eureka backend is closed'))
  }

  private async poll(): Promise<void> {
    this.running = true
    try {
      let lastStart: number | undefined
      while (this.subscribers > 0 && !this.stopped) {
        // Fixed rate: a slow fetch does not stretch the interval.
        if (lastStart !== undefined) await sleep(Math.max(0, this.intervalMs - (Date.now() - lastStart)), this.closing.signal).catch(() => undefined)
        lastStart = Date.now()
        if (this.subscribers === 0 || this.stopped) break
        const round = this.round
        this.round = newRound()
        try {
          await this.fetch()
          round.resolve()
        } catch (error) {
          round.reject(toGovernanceError(error, 'eureka registry fetch failed'))
        }
      }
    } finally {
      this.running = false
    }
  }

  private async fetch(): Promise<void> {
    if (!this.loaded) return this.fetchFull()
    const answer = await this.transport.request<Raw>({ method: 'GET', path: '/apps/delta', accept: [403], timeoutMs: this.timeoutMs })
    if (answer.status === 403) return this.fetchFull() // delta disabled on the server
    const apps = envelope(answer.body, '/apps/delta')
    this.stats.delta++
    for (const app of asArray(apps.application) as Raw[]) {
      const name = String(app.name)
      const map = this.apps.get(name) ?? new Map<string, Raw>()
      this.apps.set(name, map)
      for (const i of asArray(app.instance) as Raw[]) {
        const id = String(i.instanceId ?? i.hostName)
        if (i.actionType === 'DELETED') map.delete(id)
        else map.set(id, i)
      }
      if (map.size === 0) this.apps.delete(name)
    }
    if (this.hashCode() !== String(apps.apps__hashcode ?? '')) {
      this.stats.mismatches++
      this.logger.debug('eureka backend: delta hash code mismatch; fetching the full registry', { local: this.hashCode(), server: apps.apps__hashcode })
      await this.fetchFull()
    }
  }

  private async fetchFull(): Promise<void> {
    const answer = await this.transport.request<Raw>({ method: 'GET', path: '/apps', timeoutMs: this.timeoutMs })
    const apps = envelope(answer.body, '/apps')
    this.stats.full++
    this.apps.clear()
    for (const app of asArray(apps.application) as Raw[]) {
      const map = new Map<string, Raw>()
      for (const i of asArray(app.instance) as Raw[]) map.set(String(i.instanceId ?? i.hostName), i)
      if (map.size > 0) this.apps.set(String(app.name), map)
    }
    this.loaded = true
  }

  private hashCode(): string {
    return reconcileHashCode([...this.apps.values()].flatMap((m) => [...m.values()].map((i) => String(i.status))))
  }
}

/** The `applications` object of a /apps or /apps/delta answer. */
export function envelope(body: Raw | undefined, path: string): Raw {
  const apps = body?.applications
  if (typeof apps !== 'object' || apps === null) {
    throw new ProtocolError(`eureka: GET ${path} answered without an "applications" object`)
  }
  return apps as Raw
}

