/**
 * Metric history (GET /v1/metrics/{service}/history): every pushed series of every
 * instance gets a ring of fixed-resolution slots covering the retention window (default
 * 10 s for 1 h). Memory is bounded twice: a cap on the number of series and on the bytes
 * of all rings; a series that would pass either is not recorded, with a warning (at most
 * one a minute) and a count in `dropped`.
 */
import type { Logger } from '../internal/logger.js'
import type { MetricBatch, MetricPoint } from '../types.js'
import { SeriesRing } from './metric-history-ring.js'
import { summarize, type HistorySeries } from './metric-history-query.js'

export interface MetricHistoryOptions {
  readonly resolutionMs: number
  readonly durationMs: number
  readonly maxSeries: number
  readonly maxBytes: number
  readonly logger: Logger
  readonly now?: () => number
}

export interface HistoryView {
  readonly service: string
  readonly resolutionMs: number
  readonly from: number
  readonly to: number
  /** Start time (epoch ms) of each slot. */
  readonly times: number[]
  readonly series: HistorySeries[]
}

const WARN_EVERY_MS = 60_000

export class MetricHistory {
  /** service -> instance + series key -> ring */
  readonly #services = new Map<string, Map<string, SeriesRing>>()
  readonly #options: MetricHistoryOptions
  readonly #slots: number
  readonly #now: () => number
  #series = 0
  #bytes = 0
  #dropped = 0
  #warnedAt = -Infinity
  #prunedSlot = -Infinity

  constructor(options: MetricHistoryOptions) {
    this.#options = options
    this.#slots = Math.ceil(options.durationMs / options.resolutionMs)
    this.#now = options.now ?? Date.now
  }

  /** Series held, bytes of their rings, and series refused by the caps so far. */
  get stats(): { series: number; bytes: number; dropped: number } {
    return { series: this.#series, bytes: this.#bytes, dropped: this.#dropped }
  }

  /** Records a batch at the time it arrives (client clocks may disagree with ours). */
  record(batch: MetricBatch): void {
    const slot = Math.floor(this.#now() / this.#options.resolutionMs)
    this.#prune(slot)
    let rings = this.#services.get(batch.service)
    if (!rings) this.#services.set(batch.service, (rings = new Map()))
    for (const point of batch.points) {
      const key = `${batch.instance}\u0000${point.name}\u0000${labelKey(point.labels)}`
      const ring = this.#ringFor(rings, key, point, batch.service)
      ring?.record(slot, point)
    }
  }

  query(service: string, from: number, to: number): HistoryView | undefined {
    const rings = this.#services.get(service)
    if (!rings || rings.size === 0) return undefined
    const res = this.#options.resolutionMs
    const newest = Math.floor(this.#now() / res)
    const first = Math.max(Math.floor(from / res), newest - this.#slots + 1)
    const last = Math.min(Math.floor(to / res), newest)
    const times: number[] = []
    for (let s = first; s <= last; s++) times.push(s * res)
    return { service, resolutionMs: res, from: first * res, to: (last + 1) * res, times, series: summarize([...rings.values()], first, last, res) }
  }

  #ringFor(rings: Map<string, SeriesRing>, key: string, point: MetricPoint, service: string): SeriesRing | undefined {
    const existing = rings.get(key)
    if (existing?.fits(point)) return existing
    if (existing) this.#forget(rings, key, existing) // kind or buckets changed: start again
    const bytes = SeriesRing.bytesFor(point, this.#slots)
    if (this.#series >= this.#options.maxSeries || this.#bytes + bytes > this.#options.maxBytes) {
      this.#refuse(service, point.name)
      return undefined
    }
    const ring = new SeriesRing(point, this.#slots)
    rings.set(key, ring)
    this.#series++
    this.#bytes += ring.bytes
    return ring
  }

  #refuse(service: string, name: string): void {
    this.#dropped++
    const now = performance.now()
    if (now - this.#warnedAt < WARN_EVERY_MS) return
    this.#warnedAt = now
    const { maxSeries, maxBytes } = this.#options
    this.#options.logger.warn('metric history is full; new series are not recorded', { service, name, maxSeries, maxBytes, dropped: this.#dropped })
  }

  #forget(rings: Map<string, SeriesRing>, key: string, ring: SeriesRing): void {
    rings.delete(key)
    this.#series--
    this.#bytes -= ring.bytes
  }

  /** Once per slot: drops series whose newest data has left the window. */
  #prune(slot: number): void {
    if (slot === this.#prunedSlot) return
    this.#prunedSlot = slot
    for (const [service, rings] of this.#services) {
      for (const [key, ring] of rings) if (ring.lastSlot <= slot - this.#slots) this.#forget(rings, key, ring)
      if (rings.size === 0) this.#services.delete(service)
    }
  }
}

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]))
}
