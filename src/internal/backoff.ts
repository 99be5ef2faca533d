/** Backoff delays for the loops that retry until they succeed (heartbeats, watches, exports). */

export interface BackoffOptions {
  readonly minDelayMs: number
  readonly maxDelayMs: number
}

/**
 * Full-jitter exponential backoff (AWS architecture blog): a uniform delay in
 * [0, min(max, min * 2^attempt)], never below 1 ms so a loop cannot spin.
 * `attempt` counts from 0 for the first retry.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30))
  return Math.max(1, Math.round(random() * ceiling))
}
