/**
 * One backend call with a deadline and a cancel signal that the caller can rely on even if
 * the backend ignores them: the loop must never hang on a call that never settles.
 */
import type { CallContext } from '../backend.js'
import { TimeoutError, toGovernanceError, type GovernanceError } from '../errors.js'
import { unrefTimeout } from '../internal/timers.js'

export async function guardedCall<T>(
  what: string,
  call: (ctx: CallContext) => Promise<T>,
  timeoutMs: number,
  parent?: AbortSignal,
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
  const timer = unrefTimeout(() => abort(new TimeoutError(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs)
  try {
    const pending = call({ signal: controller.signal, timeoutMs })
    // The loser of the race must not surface as an unhandled rejection.
    pending.catch(() => {})
    return await Promise.race([pending, early])
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParentAbort)
  }
}

/** A failure as a GovernanceError, naming the operation when the backend threw something else. */
export function asGovernanceError(error: unknown, what: string): GovernanceError {
  return toGovernanceError(error, `${what} failed`)
}
