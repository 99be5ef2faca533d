/**
 * Blocking queries (protocol section 4) on the reference server: per-resource waiter sets
 * so that a change wakes only the requests held on that resource.
 */
import { HttpError } from './http-error.js'

/** Why a held request was released. */
export type WakeReason = 'changed' | 'timeout' | 'closed' | 'gone'

interface Waiter {
  readonly wake: (reason: WakeReason) => void
}

export interface WaiterHubOptions {
  /** Held requests in total; beyond it a new one answers 429. Default unlimited. */
  readonly maxHeld?: number
  /** Held requests per client address. Default unlimited. */
  readonly maxHeldPerClient?: number
  /** Told of each refusal, for the server's counters and log. */
  readonly onRefuse?: (scope: 'total' | 'client', client: string) => void
}

/** Listener of change notifications: called once per resource per burst. */
export type ChangeListener = (resource: string) => void

/**
 * Held requests, keyed by resource (`svc:orders`, `cfg:feature-x`).
 *
 * `notify(resource)` is the per-resource change hook: every store calls it after a change,
 * and it wakes that resource's waiters and tells `subscribe` listeners. Notifications are
 * coalesced until the end of the current turn of the event loop, so a burst (an expiry of
 * many instances of one service, a group commit of config writes) wakes each waiter once.
 */
export class WaiterHub {
  readonly #waiters = new Map<string, Set<Waiter>>()
  readonly #perClient = new Map<string, number>()
  readonly #pending = new Set<string>()
  readonly #listeners = new Set<ChangeListener>()
  readonly #maxHeld: number
  readonly #maxHeldPerClient: number
  readonly #onRefuse: NonNullable<WaiterHubOptions['onRefuse']>
  #held = 0
  #flushScheduled = false
  #closed = false

  constructor(options: WaiterHubOptions = {}) {
    this.#maxHeld = options.maxHeld ?? Infinity
    this.#maxHeldPerClient = options.maxHeldPerClient ?? Infinity
    this.#onRefuse = options.onRefuse ?? (() => {})
  }

  /**
   * Holds until `resource` changes, `waitMs` (plus up to 1/16 jitter) passes, the server
   * closes, or `signal` aborts (the client went away). With a `client` address the held
   * limits apply (429 past them); without one (a multiplexed watch, which has limits of
   * its own) the wait is only counted.
   */
  wait(resource: string, waitMs: number, signal: AbortSignal, client?: string): Promise<WakeReason> {
    if (this.#closed) return Promise.resolve('closed')
    if (signal.aborted) return Promise.resolve('gone')
    this.#admit(client)
    return new Promise((resolve) => {
      const set = this.#waiters.get(resource) ?? new Set<Waiter>()
      this.#waiters.set(resource, set)
      const waiter: Waiter = {
        wake: (reason) => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          set.delete(waiter)
          if (set.size === 0 && this.#waiters.get(resource) === set) this.#waiters.delete(resource)
          this.#release(client)
          resolve(reason)
        },
      }
      const onAbort = (): void => waiter.wake('gone')
      const jitter = Math.floor(Math.random() * (waitMs / 16))
      const timer = setTimeout(() => waiter.wake('timeout'), waitMs + jitter)
      timer.unref()
      signal.addEventListener('abort', onAbort, { once: true })
      set.add(waiter)
    })
  }

  /** `resource` changed: its waiters wake (once per burst) and listeners hear of it. */
  notify(resource: string): void {
    this.#pending.add(resource)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(() => this.#flush())
  }

  /** Calls `listener(resource)` once per changed resource per burst; returns an unsubscribe. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Answers every held request (shutdown) and refuses to hold new ones. */
  close(): void {
    this.#closed = true
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.wake('closed')
    this.#waiters.clear()
  }

  /** Held requests, for tests and logs. */
  get size(): number {
    return this.#held
  }

  #flush(): void {
    this.#flushScheduled = false
    const resources = [...this.#pending]
    this.#pending.clear()
    for (const resource of resources) {
      const set = this.#waiters.get(resource)
      if (set) {
        this.#waiters.delete(resource)
        for (const waiter of [...set]) waiter.wake('changed')
      }
      for (const listener of this.#listeners) listener(resource)
    }
  }

  #admit(client: string | undefined): void {
    if (client === undefined) {
      this.#held += 1
      return
    }
    const mine = this.#perClient.get(client) ?? 0
    const scope = this.#held >= this.#maxHeld ? 'total' : mine >= this.#maxHeldPerClient ? 'client' : undefined
    if (scope !== undefined) {
      this.#onRefuse(scope, client)
      const limit = scope === 'total' ? this.#maxHeld : this.#maxHeldPerClient
      throw new HttpError(429, 'rate_limited', `too many held blocking queries${scope === 'client' ? ' from this client' : ''} (limit ${limit}); retry later`, {
        headers: { 'retry-after': '1' },
        extra: { limit: scope === 'total' ? 'maxHeldQueries' : 'maxHeldQueriesPerClient' },
      })
    }
    this.#held += 1
    this.#perClient.set(client, mine + 1)
  }

  #release(client: string | undefined): void {
    this.#held -= 1
    if (client === undefined) return
    const mine = (this.#perClient.get(client) ?? 1) - 1
    if (mine <= 0) this.#perClient.delete(client)
    else this.#perClient.set(client, mine)
  }
}
