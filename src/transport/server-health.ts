/**
 * One server's circuit breaker. Closed: calls go there. Open (after a failure): calls go
 * to other servers first, for a cool-down that doubles with each failure in a row.
 * Half-open (cool-down over): one call at a time may probe it; an answer closes it, a
 * failure opens it again for longer.
 */
export interface BreakerPolicy {
  /** First cool-down after a failure. */
  readonly cooldownMs: number
  /** Cap of the doubling cool-down. */
  readonly maxCooldownMs: number
}

export class ServerHealth {
  private failures = 0
  private openUntil = 0
  private probing = false
  /** When the breaker last opened (0: closed), to try long-failed servers before fresh ones. */
  openedAt = 0

  constructor(private readonly policy: BreakerPolicy) {}

  get closed(): boolean {
    return this.failures === 0
  }

  /** True when a call should try this server in its normal turn. */
  usable(now: number): boolean {
    if (this.failures === 0) return true
    return now >= this.openUntil && !this.probing
  }

  trying(now: number): void {
    if (this.failures > 0 && now >= this.openUntil) this.probing = true
  }

  succeeded(): void {
    this.failures = 0
    this.openUntil = 0
    this.openedAt = 0
    this.probing = false
  }

  failed(now: number): void {
    const cooldown = Math.min(this.policy.maxCooldownMs, this.policy.cooldownMs * 2 ** Math.min(this.failures, 16))
    this.failures++
    this.openUntil = now + cooldown
    this.openedAt = now
    this.probing = false
  }
}
