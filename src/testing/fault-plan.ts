/**
 * Faults a test schedules for the in-memory backend: errors for the next calls or watch
 * answers, malformed and empty answers, delays, outages.
 */
import { ProtocolError, ServerUnavailableError, type GovernanceError } from '../errors.js'

export type MemoryOperation =
  | 'register'
  | 'renew'
  | 'deregister'
  | 'resolve'
  | 'listServices'
  | 'watchService'
  | 'getConfig'
  | 'watchConfig'
  | 'putConfig'
  | 'deleteConfig'
  | 'exportMetrics'

/** The change feeds: a fault scheduled for one replaces the feed's next answer(s). */
export type WatchOperation = 'watchService' | 'watchConfig'

/** The reads that can answer "nothing": an empty instance set, a missing config key. */
export type EmptyOperation = 'resolve' | 'getConfig'

export type FaultTarget = MemoryOperation | '*'

/** Marks injected errors, so that a protocol front end can tell an outage from an error answer. */
export type InjectedFault = 'unreachable' | 'malformed' | 'error'

const WATCH_OPERATIONS: ReadonlySet<MemoryOperation> = new Set<MemoryOperation>(['watchService', 'watchConfig'])

export function isWatchOperation(op: MemoryOperation): op is WatchOperation {
  return WATCH_OPERATIONS.has(op)
}

/** Which injected fault an error stands for (undefined for errors that were not injected). */
export function injectedFault(error: unknown): InjectedFault | undefined {
  const fault = (error as { details?: { fault?: unknown } } | undefined)?.details?.fault
  return fault === 'unreachable' || fault === 'malformed' || fault === 'error' ? fault : undefined
}

export function unreachableError(op: string): ServerUnavailableError {
  return new ServerUnavailableError(`the test registry is unreachable (injected) during ${op}`, { details: { fault: 'unreachable' } })
}

export function malformedError(op: string): ProtocolError {
  return new ProtocolError(`the test registry answered ${op} with a malformed answer (injected)`, { details: { fault: 'malformed' } })
}

interface Scheduled {
  readonly target: FaultTarget
  readonly make: () => GovernanceError
  remaining: number
}

export class FaultPlan {
  /** While true every call fails with ServerUnavailableError. */
  unreachable = false
  #errors: Scheduled[] = []
  #empties = new Map<EmptyOperation, number>()
  #delays = new Map<FaultTarget, number>()

  /**
   * The next `count` calls of `op` (or of any call, with '*') fail with this error. For a
   * watch operation the next `count` answers of those feeds are this error instead of a
   * state ('*' never reaches feeds); the feed then re-reads, as a real backend re-opens.
   */
  failNext(target: FaultTarget, error: GovernanceError | (() => GovernanceError), count = 1): void {
    this.#errors.push({ target, make: typeof error === 'function' ? error : () => error, remaining: count })
  }

  /** The next `count` answers of `op` are garbage: the call (or feed) gets a ProtocolError, as from a real backend. */
  malformedNext(target: FaultTarget, count = 1): void {
    this.failNext(target, () => malformedError(target === '*' ? 'a call' : target), count)
  }

  /** The next `count` answers of `op` are empty: no instances (at a newer revision), or no config value. */
  emptyNext(op: EmptyOperation, count = 1): void {
    this.#empties.set(op, (this.#empties.get(op) ?? 0) + count)
  }

  /** Every call of `op` (or '*') answers after `ms`; 0 removes the delay. */
  delay(target: FaultTarget, ms: number): void {
    if (ms > 0) this.#delays.set(target, ms)
    else this.#delays.delete(target)
  }

  delayFor(op: MemoryOperation): number {
    return this.#delays.get(op) ?? this.#delays.get('*') ?? 0
  }

  /** The error this call must fail with, if any; consumes one scheduled failure. */
  take(op: MemoryOperation): GovernanceError | undefined {
    if (this.unreachable) return unreachableError(op)
    const watch = isWatchOperation(op)
    const i = this.#errors.findIndex((e) => e.target === op || (e.target === '*' && !watch))
    if (i < 0) return undefined
    const fault = this.#errors[i]!
    if (--fault.remaining <= 0) this.#errors.splice(i, 1)
    return fault.make()
  }

  /** Whether this answer must be empty; consumes one scheduled empty answer. */
  takeEmpty(op: EmptyOperation): boolean {
    const left = this.#empties.get(op) ?? 0
    if (left <= 0) return false
    if (left === 1) this.#empties.delete(op)
    else this.#empties.set(op, left - 1)
    return true
  }

  clear(): void {
    this.unreachable = false
    this.#errors = []
    this.#empties.clear()
    this.#delays.clear()
  }
}
