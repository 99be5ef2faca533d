/**
 * One call's cancellation: a single AbortController that fires on the caller's signal (with
 * the caller's reason), on the deadline (with a TimeoutError) or on transport close (with a
 * ClientClosedError). Everything the call does — attempts, backoff sleeps, body reads —
 * listens to this one signal, so whichever comes first ends the call at once.
 */
import type { GovernanceError } from '../errors.js'

export class CallScope {
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout | undefined
  private readonly callerSignal: AbortSignal | undefined
  private readonly onCallerAbort: (() => void) | undefined
  /** When the deadline passes (Date.now() based), Infinity for none. */
  private deadline: number

  constructor(timeoutMs: number | undefined, callerSignal: AbortSignal | undefined, onTimeout: () => GovernanceError) {
    this.deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => this.abort(onTimeout()), timeoutMs)
      this.timer.unref()
    }
    if (callerSignal !== undefined) {
      this.callerSignal = callerSignal
      if (callerSignal.aborted) this.controller.abort(callerSignal.reason)
      else {
        this.onCallerAbort = () => this.abort(callerSignal.reason)
        callerSignal.addEventListener('abort', this.onCallerAbort, { once: true })
      }
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get aborted(): boolean {
    return this.controller.signal.aborted
  }

  /** Why the call was cancelled (the caller's reason, a TimeoutError, a ClientClosedError). */
  get reason(): unknown {
    return this.controller.signal.reason
  }

  /** Milliseconds left before the deadline. */
  remaining(): number {
    return this.deadline - Date.now()
  }

  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason)
  }

  /** Ends the deadline (a stream's deadline covers only the wait for headers). */
  clearDeadline(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.deadline = Infinity
  }

  /** Releases the timer and the listener on the caller's signal. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onCallerAbort !== undefined) this.callerSignal?.removeEventListener('abort', this.onCallerAbort)
  }
}
