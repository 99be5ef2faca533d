/**
 * The time by which the lease counts as lost without a successful renewal: one unref'd
 * timer, re-armed by every success. Backends whose registrations never expire have none.
 */
import { unrefTimeout } from '../internal/timers.js'

export class LeaseDeadline {
  readonly #enabled: boolean
  readonly #passed: () => void
  #timer: NodeJS.Timeout | undefined

  constructor(enabled: boolean, passed: () => void) {
    this.#enabled = enabled
    this.#passed = passed
  }

  arm(ms: number): void {
    this.clear()
    if (!this.#enabled) return
    this.#timer = unrefTimeout(() => {
      this.#timer = undefined
      this.#passed()
    }, ms)
  }

  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
