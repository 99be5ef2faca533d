/**
 * Ids of recently applied metric batches, so a retried batch is not counted twice.
 * An id is forgotten only once it is both older than `minAgeMs` and not among the last
 * `minCount` ids (protocol section 7: "at least the last 10 minutes or 10,000 batches"),
 * or when `maxCount` is passed, which bounds memory under a flood.
 */
export interface RecentIdsOptions {
  readonly minAgeMs?: number
  readonly minCount?: number
  readonly maxCount?: number
  readonly now?: () => number
}

export class RecentIds {
  /** id → time it was added; a Map iterates oldest first. */
  readonly #ids = new Map<string, number>()
  readonly #minAgeMs: number
  readonly #minCount: number
  readonly #maxCount: number
  readonly #now: () => number

  constructor(options: RecentIdsOptions = {}) {
    this.#minAgeMs = options.minAgeMs ?? 10 * 60_000
    this.#minCount = options.minCount ?? 10_000
    this.#maxCount = options.maxCount ?? 200_000
    this.#now = options.now ?? (() => performance.now())
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  add(id: string): void {
    const now = this.#now()
    this.#ids.set(id, now)
    this.#prune(now)
  }

  #prune(now: number): void {
    for (const [id, at] of this.#ids) {
      const over = this.#ids.size > this.#minCount
      if (!(this.#ids.size > this.#maxCount || (over && now - at > this.#minAgeMs))) return
      this.#ids.delete(id)
    }
  }
}
