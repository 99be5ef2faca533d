/**
 * Where the lease loop stands, as one value: which fields exist depends on the kind, so a
 * lease without a schedule, or a failure count with no attempt to count, cannot be written.
 * The transitions are pure and take only the kinds they apply to; `enter()` refuses at run
 * time what the types refuse at compile time, for callers that only hold a `KeeperState`.
 */
import type { GovernanceError } from '../errors.js'
import type { Instance, Lease } from '../types.js'
import { checkedTransitions } from './state-table.js'

/** Consecutive failed calls, and the last error, since the last success. */
export interface FailureStreak {
  readonly failures: number
  readonly lastError: GovernanceError | undefined
}

/** Not running: before start() and after stop(). */
export interface IdleState {
  readonly kind: 'idle'
}
/** The first registration of this run is under way (or being retried at `nextAt`). */
export interface RegisteringState extends FailureStreak {
  readonly kind: 'registering'
  readonly nextAt: number
}
/** The server holds `lease`; the next heartbeat (or retry, while `failures` > 0) is at `nextAt`. */
export interface HeldState extends FailureStreak {
  readonly kind: 'held'
  readonly lease: Lease
  readonly instance: Instance
  readonly nextAt: number
}
/** The lease is gone since `since`; re-registration is due at `nextAt`. */
export interface LostState extends FailureStreak {
  readonly kind: 'lost'
  readonly since: number
  readonly reason: LossReason
  readonly nextAt: number
}

export type KeeperState = IdleState | RegisteringState | HeldState | LostState
/** A state with a loop running. */
export type RunningState = RegisteringState | HeldState | LostState
export type LossReason = 'server' | 'deadline'

/** The state as Registration shows it. */
export type KeeperStatus = 'idle' | 'registering' | 'registered' | 'renewing-failed' | 'lost'

const NO_FAILURES: FailureStreak = { failures: 0, lastError: undefined }

/** Which kinds may follow which: the one table every transition is checked against. A refused one throws. */
export const enter = checkedTransitions<KeeperState['kind']>('lease keeper', {
  idle: ['registering'],
  registering: ['registering', 'held', 'idle'],
  held: ['held', 'lost', 'idle'],
  lost: ['lost', 'held', 'idle'],
})

export const IDLE: IdleState = { kind: 'idle' }

/** A run begins: failures of an earlier run are forgotten. */
export function startRegistering(_from: IdleState, now: number): RegisteringState {
  return { kind: 'registering', nextAt: now, ...NO_FAILURES }
}

/** A call succeeded (register, renew, status push): the lease is held and the streak ends. */
export function hold(_from: RunningState, lease: Lease, instance: Instance, nextAt: number): HeldState {
  return { kind: 'held', lease, instance, nextAt, ...NO_FAILURES }
}

/** A call failed: same kind, one more failure, retried at `nextAt`. */
export function failed<S extends RunningState>(from: S, error: GovernanceError, nextAt: number): S {
  return { ...from, failures: from.failures + 1, lastError: error, nextAt }
}

/**
 * The lease is gone. When the server said so it is reachable, so the backoff restarts (only
 * the re-registration rate limit applies); a passed deadline keeps counting failures.
 */
export function lose(from: HeldState, reason: LossReason, now: number, nextAt: number): LostState {
  const failures = reason === 'server' ? 0 : from.failures
  return { kind: 'lost', since: now, reason, nextAt, failures, lastError: from.lastError }
}

/** The same state, due at another time (a wall clock that jumped backwards). */
export function reschedule<S extends RunningState>(from: S, nextAt: number): S {
  return { ...from, nextAt }
}

export function keeperStatus(state: KeeperState): KeeperStatus {
  if (state.kind === 'held') return state.failures > 0 ? 'renewing-failed' : 'registered'
  return state.kind
}
