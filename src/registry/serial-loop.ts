/**
 * The lease keeper's engine, apart from what it does: one operation at a time (never two
 * heartbeats in flight), each after the pause its owner asks for, a pause that wake() cuts
 * short, and a stop() that cancels the pause and the call in flight and waits for the exit.
 * A fault in the owner's code is reported and paused on, never left to end the loop.
 */
import { unrefTimeout } from '../internal/timers.js'

export interface LoopStep<A> {
  readonly action: A
  /** 0 or less: perform now; Infinity: wait for wake() or stop(). */
  readonly dueInMs: number
}

export interface LoopOwner<A> {
  next(): LoopStep<A>
  perform(action: A, signal: AbortSignal): Promise<void>
  /** After every operation, whatever its outcome. */
  performed(): void
  /** The owner threw; returns how long to pause before the next step. */
  fault(error: unknown): number
}

interface InFlight<A> {
  readonly action: A
  readonly controller: AbortController
}

export class SerialLoop<A> {
  readonly #owner: LoopOwner<A>
  #controller: AbortController | undefined
  #exited: Promise<void> | undefined
  #inFlight: InFlight<A> | undefined
  #wake: (() => void) | undefined

  constructor(owner: LoopOwner<A>) {
    this.#owner = owner
  }

  get running(): boolean {
    return this.#controller !== undefined
  }

  /** Starts the loop; its first step runs before start() returns. */
  start(): void {
    if (this.#controller) return
    const controller = (this.#controller = new AbortController())
    this.#exited = this.#run(controller.signal)
  }

  /**
   * Ends the loop and the call in flight. `running` is false at once, so that a start()
   * while the old loop winds down begins a new one; resolves once the old one has exited.
   */
  async stop(reason: Error): Promise<void> {
    const controller = this.#controller
    if (!controller) return
    this.#controller = undefined
    controller.abort()
    this.#inFlight?.controller.abort(reason)
    this.#wake?.()
    await this.#exited
  }

  /** Ends the pause now, so that the next step is chosen again. */
  wake(): void {
    this.#wake?.()
  }

  /** Cancels the call in flight (all of them, or only one doing `action`). */
  abortCurrent(reason: Error, action?: A): void {
    const current = this.#inFlight
    if (current && (action === undefined || current.action === action)) current.controller.abort(reason)
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const step = this.#owner.next()
        if (step.dueInMs > 0) await this.#pause(step.dueInMs, signal)
        else await this.#perform(step.action, signal)
      } catch (error) {
        await this.#pause(this.#owner.fault(error), signal)
      }
    }
  }

  #pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        if (this.#wake === done) this.#wake = undefined
        resolve()
      }
      const timer = Number.isFinite(ms) ? unrefTimeout(done, ms) : undefined
      signal.addEventListener('abort', done, { once: true })
      this.#wake = done
    })
  }

  async #perform(action: A, loopSignal: AbortSignal): Promise<void> {
    const current: InFlight<A> = (this.#inFlight = { action, controller: new AbortController() })
    const onStop = (): void => current.controller.abort(loopSignal.reason)
    loopSignal.addEventListener('abort', onStop, { once: true })
    try {
      await this.#owner.perform(action, current.controller.signal)
    } finally {
      loopSignal.removeEventListener('abort', onStop)
      if (this.#inFlight === current) this.#inFlight = undefined
      this.#owner.performed()
    }
  }
}
