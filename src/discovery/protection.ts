/**
 * Empty protection: an update that leaves a served service with no usable instance is held
 * back (the last non-empty set stays served, for at most emptyProtectionMs) when it looks like
 * the registry lost data rather than instances leaving. See docs/discovery.md.
 */
import type { EmitFn } from '../events.js'
import type { Logger } from '../internal/logger.js'
import { unrefTimeout } from '../internal/timers.js'
import type { Instance, ServiceSnapshot } from '../types.js'
import type { ResolvedFilter } from './options.js'
import { matches } from './select.js'

/** Usable instances vanishing in one update that look like a registry losing data, not leaves. */
const MASS_EXPIRY_MIN = 2

/** Why empty protection holds a set: the registry's own signs of lost data. */
export type ProtectionReason = 'reset' | 'mass-expiry'

/** What protection needs to know of the served state. */
export interface ServedSet {
  readonly snapshot: ServiceSnapshot
  readonly fromDisk: boolean
  readonly usable: number
}

export interface ProtectionDeps {
  readonly service: string
  readonly holdMs: number
  readonly filter: ResolvedFilter
  readonly emit: EmitFn
  readonly logger: Logger
  readonly now: () => number
  /** The hold ran out: the held update is to be served after all. */
  readonly expired: (snapshot: ServiceSnapshot, reset: boolean) => void
}

interface Held {
  snapshot: ServiceSnapshot
  reset: boolean
  readonly reason: ProtectionReason
  /** When the server first contradicted the served set: its age counts from here. */
  readonly since: number
}

export class EmptyProtection {
  readonly #d: ProtectionDeps
  #held: Held | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(deps: ProtectionDeps) {
    this.#d = deps
  }

  /** When the hold began; undefined while nothing is held. */
  get since(): number | undefined {
    return this.#held?.since
  }

  /** The instances of a set that pass the default filter. */
  usable(instances: readonly Instance[]): number {
    let n = 0
    for (const i of instances) if (matches(i, this.#d.filter, this.#d.logger)) n++
    return n
  }

  /**
   * Judges an update of the served set: undefined when it is held back, else whether to serve
   * it as a reset (a reset seen while holding still describes the next announced change).
   */
  admit(served: ServedSet | undefined, next: ServiceSnapshot, reset: boolean): { readonly reset: boolean } | undefined {
    const reason = this.#reason(served, next.instances, reset)
    if (reason !== undefined) {
      this.#hold(served!, next, reset, reason)
      return undefined
    }
    const held = this.#held
    if (held === undefined) return { reset }
    this.#release(this.usable(next.instances) > 0 ? 'recovered' : 'explicit')
    return { reset: reset || held.reset }
  }

  close(): void {
    this.#closed = true
    this.#held = undefined
    clearTimeout(this.#timer)
  }

  /**
   * Whether an update that leaves no usable instance is a sign the registry lost data (hold
   * the served set) rather than explicit leaves (take it). Explicit: a served instance is
   * still listed, with a status the filter refuses (DOWN, OUT_OF_SERVICE), or a lone
   * instance is gone (deregistered or expired). Lost data: the feed was reset (the server's
   * index went back: a restart), or several usable instances vanished at once.
   */
  #reason(served: ServedSet | undefined, instances: readonly Instance[], reset: boolean): ProtectionReason | undefined {
    if (this.#d.holdMs <= 0 || served === undefined || served.usable === 0 || this.usable(instances) > 0) return undefined
    const listed = new Set<string>()
    for (const i of instances) listed.add(i.id)
    let vanished = 0
    for (const i of served.snapshot.instances) {
      if (!matches(i, this.#d.filter, this.#d.logger)) continue
      if (listed.has(i.id)) return undefined
      vanished++
    }
    if (this.#held !== undefined) return this.#held.reason
    if (reset && !served.fromDisk) return 'reset'
    return vanished >= MASS_EXPIRY_MIN ? 'mass-expiry' : undefined
  }

  /** Keeps serving the last non-empty set for at most holdMs, and says so (source 'protected'). */
  #hold(served: ServedSet, snapshot: ServiceSnapshot, reset: boolean, reason: ProtectionReason): void {
    const held = this.#held
    if (held !== undefined) {
      held.snapshot = snapshot
      held.reset ||= reset
      return
    }
    const { holdMs, service } = this.#d
    this.#held = { snapshot, reset, reason, since: this.#d.now() }
    this.#d.logger.warn(`discovery: the server reports no usable instance after ${reason === 'reset' ? 'a reset of its index' : 'a mass expiry'}; keeping the last set (empty protection)`, {
      service,
      holdMs,
    })
    this.#d.emit('discovery:protected', { service, reason, holdMs, instances: served.usable })
    if (!Number.isFinite(holdMs)) return
    this.#timer = unrefTimeout(() => {
      this.#timer = undefined
      const last = this.#held
      if (last === undefined || this.#closed) return
      this.#release('expired')
      this.#d.expired(last.snapshot, last.reset)
    }, holdMs)
  }

  #release(outcome: 'recovered' | 'explicit' | 'expired'): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const held = this.#held
    if (held === undefined) return
    this.#held = undefined
    if (this.#closed) return
    this.#d.emit('discovery:unprotected', { service: this.#d.service, outcome, heldMs: this.#d.now() - held.since })
  }
}
