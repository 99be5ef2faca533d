/**
 * The server's one index (protocol section 4): a 64-bit-safe counter that every change
 * to any resource advances.
 *
 * It starts at the wall clock in microseconds (milliseconds × 1000), or above the
 * persisted config index if that is higher, rather than at 1. The registry is not
 * persisted, so a counter that restarted at 1 would hand out the same indexes again, and a
 * client holding `index=N` on a service whose new instance set happens to reach N again
 * would wait on a stale view. A previous run could only have caught up with this start by
 * making more than 1,000 changes per millisecond of its uptime. (The values stay below
 * 2^53 until the year 2255, though clients must not rely on that.)
 */
export class IndexCounter {
  #value: bigint

  constructor(floor: bigint = 0n, now: number = Date.now()) {
    const clock = BigInt(Math.max(0, Math.floor(now))) * 1000n
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
