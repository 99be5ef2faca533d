/** The arithmetic of the lease loop, kept pure so that tests can pin it down. */
import { fullJitterDelay } from '../internal/backoff.js'

/** Heartbeats come at a uniform delay in [90%, 100%] of the interval: never later than asked. */
export const HEARTBEAT_JITTER = 0.1

/**
 * Re-registrations caused by a lost lease are at least this far apart, so a server that
 * forgets the instance right after accepting it (a broken proxy, two servers behind one
 * name without shared state) sees one PUT per second at most, not a tight loop.
 */
export const REREGISTER_MIN_INTERVAL_MS = 1_000

/** Delay until the next heartbeat after a successful one. */
export function heartbeatDelay(intervalMs: number, random: () => number): number {
  return Math.max(1, Math.round(intervalMs * (1 - HEARTBEAT_JITTER * random())))
}

/**
 * Delay before retrying after `failures` consecutive failures: full-jitter exponential from
 * an eighth of the interval, capped at the interval itself, so that the instance is back
 * within one heartbeat interval after the server returns, however long it was gone.
 */
export function retryDelay(failures: number, intervalMs: number, random: () => number): number {
  const minDelayMs = Math.max(1, Math.floor(intervalMs / 8))
  return fullJitterDelay(Math.max(0, failures - 1), { minDelayMs, maxDelayMs: intervalMs }, random)
}

export interface LeaseTiming {
  /** Heartbeat interval to use with this lease. */
  readonly renewEveryMs: number
  /** Time after a successful renewal's start at which the lease counts as lost. */
  readonly deadlineAfterMs: number
}

/**
 * Timing for the TTL the server actually applied, which may differ from the one asked for
 * (the protocol lets a server clamp it). The deadline is measured from the start of the
 * last successful call: the server received it no earlier, so its expiry is no earlier
 * than start + ttl, and the margin only has to cover timer lateness and clock rate.
 */
export function leaseTiming(appliedTtlMs: number, intervalMs: number, marginMs: number): LeaseTiming {
  const margin = Math.min(marginMs, Math.floor(appliedTtlMs / 3))
  const deadlineAfterMs = Math.max(1, appliedTtlMs - margin)
  // A server that cut the TTL below our interval would expire us between heartbeats.
  const renewEveryMs = intervalMs < deadlineAfterMs ? intervalMs : Math.max(1, Math.floor(deadlineAfterMs / 2))
  return { renewEveryMs, deadlineAfterMs }
}
