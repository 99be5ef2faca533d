/** Faults a test schedules for the in-memory backend: errors for the next calls, delays, outages. */
import { ServerUnavailableError, type GovernanceError } from '../errors.js'

export type MemoryOperation =
  | 'register'
  | 'renew'
  | 'deregister'
  | 'resolve'
  | 'watchService'
  | 'getConfig'
  | 'watchConfig'
  | 'putConfig'
  | 'deleteConfig'
  | 'exportMetrics'

type Target = MemoryOperation | '*'

export class FaultPlan {
  /** While true every call fails with ServerUnavailableError. */
  unreachable = false
  #errors: { target: Target; make: () => GovernanceError; remaining: number }[] = []
  #delays = new Map<Target, number>()

  /** The next `count` calls of `op` (or of any op, with '*') fail with this error. */
  failNext(target: Target, error: GovernanceError | (() => GovernanceError), count = 1): void {
    this.#errors.push({ target, make: typeof error === 'function' ? error : () => error, remaining: count })
  }

  /** Every call of `op` (or '*') answers after `ms`; 0 removes the delay. */
  delay(target: Target, ms: number): void {
    if (ms > 0) this.#delays.set(target, ms)
    else this.#delays.delete(target)
  }

  delayFor(op: MemoryOperation): number {
    return this.#delays.get(op) ?? this.#delays.get('*') ?? 0
  }

  /** The error this call must fail with, if any; consumes one scheduled failure. */
  take(op: MemoryOperation): GovernanceError | undefined {
    if (this.unreachable) return new ServerUnavailableError(`memory backend is unreachable (injected) during ${op}`)
    const i = this.#errors.findIndex((e) => e.target === op || e.target === '*')
    if (i < 0) return undefined
    const fault = this.#errors[i]!
    if (--fault.remaining <= 0) this.#errors.splice(i, 1)
    return fault.make()
  }

  clear(): void {
    this.unreachable = false
    this.#errors = []
    this.#delays.clear()
  }
}
