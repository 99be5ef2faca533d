/** A Watcher that queues what it receives, so a test can await each delivery in order. */
import type { WatchMeta, Watcher } from '../../src/backend.js'
import type { GovernanceError } from '../../src/errors.js'

export type WatchEvent<T> = { readonly kind: 'next'; readonly value: T; readonly meta: WatchMeta } | { readonly kind: 'error'; readonly error: GovernanceError }

export interface WatchRecorder<T> extends Watcher<T> {
  /** The next event not yet taken (waits for it). */
  take(): Promise<WatchEvent<T>>
  /** The next `next` delivery, skipping errors (which are kept in `errors`). */
  takeValue(): Promise<{ value: T; meta: WatchMeta }>
  readonly errors: GovernanceError[]
}

export function watchRecorder<T>(): WatchRecorder<T> {
  const queue: WatchEvent<T>[] = []
  const waiting: ((e: WatchEvent<T>) => void)[] = []
  const errors: GovernanceError[] = []
  const push = (e: WatchEvent<T>): void => {
    const w = waiting.shift()
    if (w) w(e)
    else queue.push(e)
  }
  const take = (): Promise<WatchEvent<T>> => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r)))
  return {
    next: (value, meta) => push({ kind: 'next', value, meta }),
    error: (error) => {
      errors.push(error)
      push({ kind: 'error', error })
    },
    take,
    takeValue: async () => {
      for (;;) {
        const e = await take()
        if (e.kind === 'next') return { value: e.value, meta: e.meta }
      }
    },
    errors,
  }
}
