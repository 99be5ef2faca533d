/**
 * The async iterator behind changes(): a bounded buffer for slow consumers. When full, the
 * oldest change is folded into the next one, whose `previous` and `changedKeys` are then
 * recomputed against what the consumer last saw, so the chain stays truthful.
 */
import { changedKeys } from './json-diff.js'
import type { RawPair } from './key-watch.js'
import type { ConfigChange } from './types.js'

interface Buffered<T> {
  readonly change: ConfigChange<T>
  readonly raw: RawPair
}

export class ChangeStream<T> implements AsyncIterableIterator<ConfigChange<T>> {
  readonly #capacity: number
  readonly #onEnd: () => void
  #buffer: Buffered<T>[] = []
  /** Pending next() calls, oldest first (a consumer may call next() before the previous settled). */
  #waiters: ((result: IteratorResult<ConfigChange<T>, undefined>) => void)[] = []
  #ended = false

  /** `onEnd` runs once, when the stream ends for any reason (abort, close, return()). */
  constructor(capacity: number, onEnd: () => void) {
    this.#capacity = capacity
    this.#onEnd = onEnd
  }

  get ended(): boolean {
    return this.#ended
  }

  push(change: ConfigChange<T>, raw: RawPair): void {
    if (this.#ended) return
    const waiter = this.#waiters.shift()
    if (waiter) {
      waiter({ value: change, done: false })
      return
    }
    this.#buffer.push({ change, raw })
    if (this.#buffer.length > this.#capacity) this.#fold()
  }

  /** Ends the stream: buffered changes are discarded and a pending next() resolves done. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#buffer = []
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter({ value: undefined, done: true })
    this.#onEnd()
  }

  next(): Promise<IteratorResult<ConfigChange<T>, undefined>> {
    const item = this.#buffer.shift()
    if (item) return Promise.resolve({ value: item.change, done: false })
    if (this.#ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  return(): Promise<IteratorResult<ConfigChange<T>, undefined>> {
    this.end()
    return Promise.resolve({ value: undefined, done: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #fold(): void {
    const dropped = this.#buffer.shift()!
    const next = this.#buffer[0]!
    const raw = { previous: dropped.raw.previous, value: next.raw.value }
    const change = { ...next.change, previous: dropped.change.previous, changedKeys: changedKeys(raw.previous, raw.value) }
    this.#buffer[0] = { change, raw }
  }
}
