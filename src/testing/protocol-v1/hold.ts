/**
 * Blocking reads (protocol v1 section 4) on top of the registry's change feeds: the feed
 * answers at once when the resource is past (or, after a reset, below) the client's index,
 * otherwise its next change ends the hold; `wait`, the client leaving or the registry
 * closing end it with the unchanged state.
 */
import type { Unsubscribe, Watcher } from '../../backend.js'
import type { GovernanceError } from '../../errors.js'
import { unrefTimeout } from '../../internal/timers.js'

export type HoldOutcome<T> =
  | { readonly kind: 'changed'; readonly value: T; readonly revision: string }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'failed'; readonly error: GovernanceError }

export function hold<T>(subscribe: (watcher: Watcher<T>) => Unsubscribe, waitMs: number, signal: AbortSignal): Promise<HoldOutcome<T>> {
  if (signal.aborted) return Promise.resolve({ kind: 'unchanged' })
  return new Promise((resolve) => {
    let stop: Unsubscribe | undefined
    let done = false
    const finish = (outcome: HoldOutcome<T>): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      stop?.()
      resolve(outcome)
    }
    const onAbort = (): void => finish({ kind: 'unchanged' })
    const timer = unrefTimeout(() => finish({ kind: 'unchanged' }), waitMs)
    signal.addEventListener('abort', onAbort, { once: true })
    stop = subscribe({
      next: (value, meta) => finish({ kind: 'changed', value, revision: meta.revision }),
      error: (error) => finish({ kind: 'failed', error }),
    })
    // An answer that came during subscribe() found no stop function yet.
    if (done) stop()
  })
}
