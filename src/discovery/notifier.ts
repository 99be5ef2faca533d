/**
 * Coalesced `discovery:changed` events. The cache takes every change at once; the event goes
 * out at most once per minNotifyIntervalMs with the latest state and the difference from the
 * state last announced, so a burst of changes gives one event and no change is lost.
 */
import type { EmitFn } from '../events.js'
import { unrefTimeout } from '../internal/timers.js'
import type { Instance, ServiceSnapshot } from '../types.js'
import { diffInstances, isEmptyDiff } from './diff.js'

export interface NotifierOptions {
  readonly service: string
  readonly emit: EmitFn
  readonly now: () => number
  readonly minIntervalMs: number
  /** Called with the state announced (or first seen), when it came from the server. */
  readonly persist: ((snapshot: ServiceSnapshot) => void) | undefined
  /** Every announced state, the first one included (subscriptions diff it themselves). */
  readonly announce?: (snapshot: ServiceSnapshot, reset: boolean) => void
}

export class ChangeNotifier {
  readonly #o: NotifierOptions
  #announced: readonly Instance[] | undefined
  #current: ServiceSnapshot | undefined
  #reset = false
  #persistPending = false
  #lastEmitAt = Number.NEGATIVE_INFINITY
  #timer: NodeJS.Timeout | undefined

  constructor(options: NotifierOptions) {
    this.#o = options
  }

  /** A new served state. The first one is not announced: nobody held an older one. */
  changed(snapshot: ServiceSnapshot, reset: boolean, live: boolean): void {
    this.#current = snapshot
    if (this.#announced === undefined) {
      this.#announced = snapshot.instances
      if (live) this.#o.persist?.(snapshot)
      this.#o.announce?.(snapshot, reset)
      return
    }
    this.#reset ||= reset
    this.#persistPending ||= live
    if (this.#timer !== undefined) return
    const wait = this.#lastEmitAt + this.#o.minIntervalMs - this.#o.now()
    if (wait <= 0) this.#flush()
    else this.#timer = unrefTimeout(() => this.#flush(), wait)
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #flush(): void {
    this.#timer = undefined
    const current = this.#current
    if (current === undefined || this.#announced === undefined) return
    const diff = diffInstances(this.#announced, current.instances)
    const reset = this.#reset
    this.#announced = current.instances
    this.#reset = false
    if (this.#persistPending) {
      this.#persistPending = false
      this.#o.persist?.(current)
    }
    if (isEmptyDiff(diff)) return
    this.#o.announce?.(current, reset)
    this.#lastEmitAt = this.#o.now()
    this.#o.emit('discovery:changed', { service: this.#o.service, instances: current.instances, diff, revision: current.revision, reset })
  }
}
