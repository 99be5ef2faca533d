/**
 * Callers awaiting a condition of the registration (registered, status applied), each with
 * its own deadline and abort signal. The loop calls recheck() whenever its state changes.
 */
export type WaitOutcome = 'done' | Error | undefined

export interface WaitOptions {
  readonly timeoutMs: number
  readonly onTimeout: () => Error
  readonly signal?: AbortSignal | undefined
}

interface Waiter {
  readonly check: () => WaitOutcome
  readonly settle: (outcome: 'done' | Error | { aborted: unknown }) => void
}

export class Waiters {
  readonly #set = new Set<Waiter>()

  get size(): number {
    return this.#set.size
  }

  /** Resolves when check() says 'done', rejects with the Error it returns, on timeout or on abort. */
  wait(check: () => WaitOutcome, options: WaitOptions): Promise<void> {
    options.signal?.throwIfAborted()
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => waiter.settle({ aborted: options.signal?.reason })
      // Ref'd on purpose: a caller awaiting register() must keep the process alive until
      // the answer or the timeout, unlike the background loop's timers.
      const timer = setTimeout(() => waiter.settle(options.onTimeout()), options.timeoutMs)
      const waiter: Waiter = {
        check,
        settle: (outcome) => {
          if (!this.#set.delete(waiter)) return
          clearTimeout(timer)
          options.signal?.removeEventListener('abort', onAbort)
          if (outcome === 'done') resolve()
          else if (outcome instanceof Error) reject(outcome)
          else reject(outcome.aborted)
        },
      }
      this.#set.add(waiter)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      const now = check()
      if (now !== undefined) waiter.settle(now)
    })
  }

  recheck(): void {
    for (const waiter of [...this.#set]) {
      const outcome = waiter.check()
      if (outcome !== undefined) waiter.settle(outcome)
    }
  }

  rejectAll(error: () => Error): void {
    for (const waiter of [...this.#set]) waiter.settle(error())
  }
}
