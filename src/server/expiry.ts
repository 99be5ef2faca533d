/**
 * Lease deadlines without scanning: a binary min-heap of (deadline, item) with one unref'd
 * timer armed for the earliest entry. Entries are never removed early; the owner's `onDue`
 * decides when one comes due whether it still counts (lazy deletion), so a renewal costs
 * nothing here.
 */

interface Entry<T> {
  readonly at: number
  readonly item: T
}

export type MonotonicClock = () => number

export class ExpiryQueue<T> {
  readonly #heap: Entry<T>[] = []
  readonly #onDue: (item: T, at: number, now: number) => void
  readonly #now: MonotonicClock
  #timer: NodeJS.Timeout | undefined
  #armedAt = Infinity
  #closed = false

  /** `onDue(item, at, now)` runs once for each entry whose deadline `at` has passed. */
  constructor(onDue: (item: T, at: number, now: number) => void, now: MonotonicClock = () => performance.now()) {
    this.#onDue = onDue
    this.#now = now
  }

  get size(): number {
    return this.#heap.length
  }

  schedule(item: T, at: number): void {
    if (this.#closed) return
    this.#push({ at, item })
    if (at < this.#armedAt) this.#arm()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#heap.length = 0
  }

  #arm(): void {
    clearTimeout(this.#timer)
    const top = this.#heap[0]
    if (top === undefined || this.#closed) {
      this.#armedAt = Infinity
      return
    }
    this.#armedAt = top.at
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(top.at - this.#now())))
    this.#timer.unref()
  }

  #fire(): void {
    const now = this.#now()
    for (let top = this.#heap[0]; top !== undefined && top.at <= now; top = this.#heap[0]) {
      this.#pop()
      this.#onDue(top.item, top.at, now)
    }
    this.#arm()
  }

  #push(entry: Entry<T>): void {
    const heap = this.#heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= entry.at) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = entry
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left
      if (heap[child]!.at >= last.at) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
  }
}
