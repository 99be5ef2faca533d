/** Test helpers: a recording Watcher with bounded waits, and condition polling. */
import type { Watcher, WatchMeta } from '../../src/backend.js'
import type { GovernanceError } from '../../src/errors.js'

export interface Recorded<T> {
  readonly value: T
  readonly meta: WatchMeta
}

export class WatchRecorder<T> implements Watcher<T> {
  readonly values: Recorded<T>[] = []
  readonly errors: GovernanceError[] = []
  private waiters: (() => void)[] = []

  next(value: T, meta: WatchMeta): void {
    this.values.push({ value, meta })
    this.wake()
  }

  error(error: GovernanceError): void {
    this.errors.push(error)
    this.wake()
  }

  get last(): Recorded<T> | undefined {
    return this.values.at(-1)
  }

  /** Resolves with the first recorded value (from index `from` on) that satisfies `test`. */
  async until(test: (value: T, meta: WatchMeta) => boolean, timeoutMs = 10_000, from = 0): Promise<Recorded<T>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const hit = this.values.slice(from).find((r) => test(r.value, r.meta))
      if (hit !== undefined) return hit
      const left = deadline - Date.now()
      if (left <= 0) {
        const seen = JSON.stringify(this.values.map((r) => r.value)).slice(0, 600)
        const errors = this.errors.map((e) => e.message).slice(-3)
        throw new Error(`watch: no matching value within ${timeoutMs} ms; saw ${seen}; last errors ${JSON.stringify(errors)}`)
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250))
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const out = await check()
      if (out !== undefined && out !== false) return out
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not met within ${timeoutMs} ms${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

let counter = 0
/** A name no other test uses: tests share one server. */
export function uniqueName(base: string): string {
  counter += 1
  return `${base}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`
}
