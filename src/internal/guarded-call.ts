/**
 * One backend call with a deadline and a cancel signal that the caller can rely on even if
 * the backend ignores them: no loop and no caller may hang on a call that never settles.
 * (Backends are a public seam; the core cannot assume every one honours its CallContext.)
 */
import type { CallContext } from '../backend.js'
import { TimeoutError } from '../errors.js'
import { unrefTimeout } from './timers.js'

/**
 * `graceMs` lets a backend that does honour `timeoutMs` report its own, more precise error
 * (the URL it gave up on) before the guard's TimeoutError takes over.
 */
export async function guardedCall<T>(
  what: string,
  call: (ctx: CallContext) => Promise<T>,
  timeoutMs: number,
  parent?: AbortSignal,
  graceMs = 0,
): Promise<T> {
  parent?.throwIfAborted()
  const controller = new AbortController()
  let rejectEarly: (reason: unknown) => void = () => {}
  const early = new Promise<never>((_, reject) => (rejectEarly = reject))
  const abort = (reason: unknown): void => {
    controller.abort(reason)
    rejectEarly(reason)
  }
  const onParentAbort = (): void => abort(parent?.reason)
  parent?.addEventListener('abort', onParentAbort, { once: true })
  const timer = unrefTimeout(() => abort(new TimeoutError(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs + graceMs)
  try {
    // Promise.resolve: a backend outside the contract may answer with a plain value.
    const pending = Promise.resolve(call({ signal: controller.signal, timeoutMs }))
    // The loser of the race must not surface as an unhandled rejection.
    pending.catch(() => {})
    return await Promise.race([pending, early])
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParentAbort)
  }
}
