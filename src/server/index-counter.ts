/**
 * The server's one index (protocol section 4): a 64-bit-safe counter that every change
 * to any resource advances.
 *
 * It starts at the wall clock in milliseconds (or above the persisted config index, if
 * that is higher) rather than at 1. The registry is not persisted, so a counter that
 * restarted at 1 would hand out the same indexes again after a restart, and a client
 * holding `index=N` on a service whose new instance set happens to reach N again would
 * wait on a stale view. Starting above every index the previous run could plausibly
 * have issued (it would need more than one change per millisecond of uptime to catch
 * up with the clock) keeps indexes from being reused across restarts.
 */
export class IndexCounter {
  #value: bigint

  constructor(floor: bigint = 0n, now: number = Date.now()) {
    const clock = BigInt(Math.max(0, Math.floor(now)))
    this.#value = floor > clock ? floor : clock
  }

  /** The index of the latest change (never below 1). */
  current(): bigint {
    return this.#value < 1n ? 1n : this.#value
  }

  /** Advances the counter and returns the new index. */
  next(): bigint {
    this.#value += 1n
    return this.current()
  }
}
