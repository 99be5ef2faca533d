/**
 * Blocking queries (protocol section 4): parsing `index`/`wait`, and per-resource waiter
 * sets so that a change wakes only the requests held on that resource.
 */
import { badRequest } from './http-error.js'
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

/** Held requests, keyed by resource (`svc:orders`, `cfg:feature-x`). */
export class WaiterHub {
  readonly #waiters = new Map<string, Set<Waiter>>()
  #closed = false

  /** Whether a request holding `requested` on a resource at `current` must wait. */
  static mustHold(current: bigint, requested: bigint): boolean {
    return requested !== 0n && current === requested
  }

  /**
   * Holds until `resource` changes, `waitMs` (plus up to 1/16 jitter) passes, the server
   * closes, or `signal` aborts (the client went away).
   */
  wait(resource: string, waitMs: number, signal: AbortSignal): Promise<WakeReason> {
    if (this.#closed) return Promise.resolve('closed')
    if (signal.aborted) return Promise.resolve('gone')
    return new Promise((resolve) => {
      const set = this.#waiters.get(resource) ?? new Set<Waiter>()
      this.#waiters.set(resource, set)
      const waiter: Waiter = {
        wake: (reason) => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          set.delete(waiter)
          if (set.size === 0 && this.#waiters.get(resource) === set) this.#waiters.delete(resource)
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

  /** Answers every request held on `resource`. */
  notify(resource: string): void {
    const set = this.#waiters.get(resource)
    if (!set) return
    this.#waiters.delete(resource)
    for (const waiter of [...set]) waiter.wake('changed')
  }

  /** Answers every held request (shutdown) and refuses to hold new ones. */
  close(): void {
    this.#closed = true
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.wake('closed')
    this.#waiters.clear()
  }

  /** Held requests, for tests and logs. */
  get size(): number {
    let n = 0
    for (const set of this.#waiters.values()) n += set.size
    return n
  }
}
