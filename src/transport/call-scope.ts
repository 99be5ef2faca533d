/**
 * One call's cancellation: a single AbortController that fires on the caller's signal (with
 * the caller's reason), on the deadline (with a TimeoutError) or on transport close (with a
 * ClientClosedError). Everything the call does — attempts, backoff sleeps, body reads —
 * listens to this one signal, so whichever comes first ends the call at once.
 */
import { EventEmitter } from 'node:events'
import type { GovernanceError } from '../errors.js'

export class CallScope {
  private readonly controller = new AbortController()
  private emitter: EventEmitter | undefined
  private hook: ((reason: unknown) => void) | undefined
  private readonly timer: NodeJS.Timeout | undefined
  private readonly callerSignal: AbortSignal | undefined
  private readonly onCallerAbort: (() => void) | undefined
  /** When the deadline passes (Date.now() based), Infinity for none. */
  private deadline: number
  /** The deadline fired (not the caller's signal, not a close). */
  expired = false

  constructor(timeoutMs: number | undefined, callerSignal: AbortSignal | undefined, onTimeout: () => GovernanceError) {
    this.deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        if (this.aborted) return
        this.expired = true
        this.abort(onTimeout())
      }, timeoutMs)
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
    if (this.controller.signal.aborted) return
    this.controller.abort(reason)
    this.emitter?.emit('abort')
    const hook = this.hook
    this.hook = undefined
    hook?.(reason)
  }

  /** One cheap abort callback (the attempt in flight); replaces the previous one, undefined clears it. */
  onAbort(hook: ((reason: unknown) => void) | undefined): void {
    this.hook = hook
  }

  /**
   * What undici gets as its `signal`: an EventEmitter that emits 'abort' with this scope.
   * undici accepts either; listening on an AbortSignal costs it ~4 µs per request (Node's
   * EventTarget), an EventEmitter a fraction of that, and this runs on every call.
   */
  undiciSignal(): EventEmitter {
    this.emitter ??= new EventEmitter()
    return this.emitter
  }

  /** Ends the deadline (a stream's deadline covers only the wait for headers). */
  clearDeadline(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.deadline = Infinity
  }

  /**
   * Waits between attempts; rejects with the call's reason when it is cancelled meanwhile.
   * Unlike the package's background timers this one keeps the process alive: the caller
   * is awaiting this call, and no socket holds the event loop during a backoff pause (a
   * script would otherwise exit mid-retry). It never outlives the call's deadline.
   */
  sleep(ms: number): Promise<void> {
    const signal = this.controller.signal
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal.reason)
      }
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Releases the timer and the listener on the caller's signal. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onCallerAbort !== undefined) this.callerSignal?.removeEventListener('abort', this.onCallerAbort)
  }
}
