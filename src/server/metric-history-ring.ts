/**
 * One series' history: a ring of fixed-width slots (one per resolution step) in a single
 * Float64Array. NaN marks a slot without data. Counters and histograms add deltas into
 * their slot; gauges keep the slot's last value.
 */
import type { MetricPoint } from '../types.js'

export type SeriesKind = MetricPoint['kind']

/** Histogram slots hold [count, sum, bucket counts...]. */
const HISTOGRAM_HEAD = 2

export class SeriesRing {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly kind: SeriesKind
  /** Histogram bounds, empty for counters and gauges. */
  readonly buckets: readonly number[]
  readonly width: number
  /** Name and sorted labels: rings of one series on different instances share it. */
  readonly seriesKey: string
  readonly #slots: number
  readonly #data: Float64Array
  /** Absolute slot number (time / resolution) of the newest write; -Infinity before any. */
  #last = -Infinity
  /** Absolute slot of the first write, so that rates before it read as "no data". */
  #first = Infinity

  constructor(point: MetricPoint, slots: number) {
    this.name = point.name
    this.labels = point.labels
    this.kind = point.kind
    this.buckets = point.kind === 'histogram' ? [...point.buckets] : []
    this.width = point.kind === 'histogram' ? HISTOGRAM_HEAD + point.counts.length : 1
    this.seriesKey = `${point.name}\u0000${JSON.stringify(Object.keys(point.labels).sort().map((k) => [k, point.labels[k]]))}`
    this.#slots = slots
    this.#data = new Float64Array(slots * this.width).fill(NaN)
  }

  static bytesFor(point: MetricPoint, slots: number): number {
    const width = point.kind === 'histogram' ? HISTOGRAM_HEAD + point.counts.length : 1
    return slots * width * 8 + 200 // the array plus the object and key, roughly
  }

  get bytes(): number {
    return this.#data.byteLength + 200
  }

  get lastSlot(): number {
    return this.#last
  }

  /** Whether `point` fits this ring (same kind, same bucket layout). */
  fits(point: MetricPoint): boolean {
    if (point.kind !== this.kind) return false
    if (point.kind !== 'histogram') return true
    return point.buckets.length === this.buckets.length && point.buckets.every((b, i) => b === this.buckets[i])
  }

  record(slot: number, point: MetricPoint): void {
    if (slot < this.#last - this.#slots + 1) return // older than the window
    this.#advance(slot)
    this.#first = Math.min(this.#first, slot)
    const at = (slot % this.#slots) * this.width
    const data = this.#data
    if (point.kind === 'gauge') {
      data[at] = point.value
      return
    }
    const add = (i: number, v: number): void => {
      data[at + i] = Number.isNaN(data[at + i]!) ? v : data[at + i]! + v
    }
    if (point.kind !== 'histogram') return add(0, point.value)
    add(0, point.count)
    add(1, point.sum)
    point.counts.forEach((count, i) => add(HISTOGRAM_HEAD + i, count))
  }

  /**
   * The slot's values (width numbers) into `out`; false when it holds nothing. Counters and
   * histograms read as zero between their first and last write (no delta is a zero delta).
   */
  read(slot: number, out: Float64Array): boolean {
    if (slot > this.#last || slot <= this.#last - this.#slots || slot < this.#first) return false
    const at = (slot % this.#slots) * this.width
    const empty = Number.isNaN(this.#data[at]!)
    if (empty && this.kind === 'gauge') return false
    for (let i = 0; i < this.width; i++) out[i] = empty ? 0 : this.#data[at + i]!
    return true
  }

  /**
   * Adds this scalar ring's slots first..last into `sums` (index 0 = first), marking in
   * `present` the slots that hold something; the fast path of read() for whole ranges.
   */
  sumInto(first: number, last: number, sums: Float64Array, present: Uint8Array): void {
    const from = Math.max(first, this.#first, this.#last - this.#slots + 1)
    const to = Math.min(last, this.#last)
    const gauge = this.kind === 'gauge'
    for (let slot = from; slot <= to; slot++) {
      const value = this.#data[slot % this.#slots]!
      if (Number.isNaN(value)) {
        if (gauge) continue
      } else sums[slot - first]! += value
      present[slot - first] = 1
    }
  }

  /** Clears the slots skipped since the last write, so they read as empty. */
  #advance(slot: number): void {
    if (slot <= this.#last) return
    const from = this.#last === -Infinity ? slot : Math.max(this.#last + 1, slot - this.#slots + 1)
    for (let s = from; s <= slot; s++) this.#data.fill(NaN, (s % this.#slots) * this.width, (s % this.#slots + 1) * this.width)
    this.#last = slot
  }
}
