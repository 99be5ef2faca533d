/**
 * The controller the application's handler keeps for the whole request. A retry is a new
 * dispatch with its own controller; without a stable proxy the handler would pause, resume
 * or abort the dead first attempt (undici's retry-handler.js explains the stall this causes).
 */
import type { Dispatcher } from 'undici'

export class ControllerProxy implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | null = null
  #paused = false
  /** An abort that came while no attempt was running; the next attempt is not started. */
  #abortReason: Error | null = null

  set target(target: Dispatcher.DispatchController | null) {
    this.#target = target
    if (target !== null && this.#paused) target.pause()
  }

  get abortReason(): Error | null {
    return this.#abortReason
  }

  get aborted(): boolean {
    return this.#abortReason !== null || (this.#target?.aborted ?? false)
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#abortReason ?? this.#target?.reason ?? null
  }

  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.#target?.rawHeaders ?? null
  }

  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.#target?.rawTrailers ?? null
  }

  abort(reason: Error): void {
    this.#abortReason ??= reason
    this.#target?.abort(reason)
  }

  pause(): void {
    this.#paused = true
    this.#target?.pause()
  }

  resume(): void {
    this.#paused = false
    this.#target?.resume()
  }
}
