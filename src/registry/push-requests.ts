/**
 * Callers of pushNow() (close() marking the instance DOWN) waiting for the next status
 * push: `forced` asks the loop for a push even when backing off, and every waiter learns
 * whether the server took it.
 */
export class PushRequests {
  #forced = false
  #waiters: ((ok: boolean) => void)[] = []

  get forced(): boolean {
    return this.#forced
  }

  request(): Promise<boolean> {
    this.#forced = true
    return new Promise<boolean>((resolve) => this.#waiters.push(resolve))
  }

  /** A push starts: a request made from now on needs another one. */
  taken(): void {
    this.#forced = false
  }

  /** No push will happen (the loop restarts, or the lease is gone). */
  withdraw(): void {
    this.#forced = false
  }

  settle(ok: boolean): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const resolve of waiters) resolve(ok)
  }
}
