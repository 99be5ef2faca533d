/** Timers the background loops use: unref'd, so a forgotten client never holds the process open. */

export interface Clock {
  /** Milliseconds, monotonic enough for deadlines (Date.now, faked by vitest's fake timers). */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** setTimeout that does not keep the event loop alive. */
export function unrefTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(fn, ms)
  t.unref?.()
  return t
}

/**
 * Resolves after `ms`, or rejects with the signal's reason when it aborts first.
 * The timer is unref'd: a sleep alone does not keep the process running.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t)
      reject(signal?.reason)
    }
    const t = unrefTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Waits for `work` (its failure included) at most `ms`; true when it settled in time. For
 * shutdown steps that hand control to code we do not own (a backend's close(), in-flight
 * application requests): close() must finish even when they never do.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => (timer = unrefTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([work.then(() => true, () => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Keeps the process alive until the returned release is called: for the one thing the
 * client does on the application's behalf that should, an active config watch (the http
 * backend's blocking read holds its socket; a polling backend's timers are unref'd).
 */
export function holdProcessOpen(): () => void {
  const handle = setInterval(() => {}, 2 ** 31 - 1)
  return () => clearInterval(handle)
}
