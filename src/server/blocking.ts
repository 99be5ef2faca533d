/**
 * Blocking queries (protocol section 4): parsing `index`/`wait`, and per-resource waiter
 * sets so that a change wakes only the requests held on that resource.
 */
import { HttpError, badRequest } from './http-error.js'
import { quote } from './validation.js'

export const DEFAULT_WAIT_MS = 60_000
export const MAX_WAIT_MS = 300_000

export interface BlockingParams {
  /** The index the client has seen; 0n means "answer at once". */
  readonly index: bigint
  readonly waitMs: number
}

export function queryParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name)
  if (values.length > 1) throw badRequest(`query parameter ${name} is given ${values.length} times`)
  return values[0]
}

export function parseIndex(text: string | undefined): bigint {
  if (text === undefined) return 0n
  if (!/^(0|[1-9][0-9]{0,29})$/.test(text)) throw badRequest(`index must be a decimal integer, not ${quote(text)}`)
  return BigInt(text)
}

/** `500ms`, `30s`, `2m` (a decimal fraction is accepted); clamped to five minutes. */
export function parseWait(text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS
  const match = /^([0-9]{1,9}(?:\.[0-9]{1,6})?)(ms|s|m)$/.exec(text)
  if (!match) throw badRequest(`wait must be a duration like 500ms, 30s or 2m, not ${quote(text)}`)
  const unit = match[2] === 'ms' ? 1 : match[2] === 's' ? 1_000 : 60_000
  return Math.min(MAX_WAIT_MS, Math.ceil(Number(match[1]) * unit))
}

export function parseBlocking(query: URLSearchParams): BlockingParams {
  return { index: parseIndex(queryParam(query, 'index')), waitMs: parseWait(queryParam(query, 'wait')) }
}

export function parseIfVersion(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined
  if (!/^(0|[1-9][0-9]{0,29})$/.test(text)) throw badRequest(`ifVersion must be a decimal string, not ${quote(text)}`)
  return BigInt(text)
}


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

  /** Whether a request holding `requested` on a resource at `current` must wait. */
  static mustHold(current: bigint, requested: bigint): boolean {
    return requested !== 0n && current === requested
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
