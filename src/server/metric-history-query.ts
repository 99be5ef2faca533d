/**
 * Turns rings into what a chart plots: series summed over instances, counters as rates
 * per second, gauges as values, histograms as rates and quantiles (interpolated within
 * buckets, as Prometheus' histogram_quantile does).
 */
import { addHistograms, type HistogramData } from './histogram.js'
import type { SeriesRing } from './metric-history-ring.js'

export const QUANTILES = [0.5, 0.9, 0.99] as const

interface Base {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Instances that contributed to this series in the range. */
  readonly instances: number
}

export type HistorySeries =
  | (Base & { readonly kind: 'counter'; readonly rate: (number | null)[] })
  | (Base & { readonly kind: 'gauge'; readonly values: (number | null)[] })
  | (Base & { readonly kind: 'histogram'; readonly rate: (number | null)[]; readonly quantiles: Record<string, (number | null)[]> })

/** Rings of one service, grouped by name + labels (across instances), then summarized. */
export function summarize(rings: readonly SeriesRing[], first: number, last: number, resolutionMs: number): HistorySeries[] {
  const groups = new Map<string, SeriesRing[]>()
  for (const ring of rings) {
    const group = groups.get(ring.seriesKey)
    if (group) group.push(ring)
    else groups.set(ring.seriesKey, [ring])
  }
  const out: HistorySeries[] = []
  const keys = [...groups.keys()].sort()
  for (const key of keys) {
    const group = groups.get(key)!
    const kind = group[0]!.kind
    const same = group.filter((r) => r.kind === kind) // a name sent as two kinds: the first one's kind wins
    const base = { name: group[0]!.name, labels: group[0]!.labels, instances: same.length }
    if (kind === 'histogram') out.push({ ...base, kind, ...histogramSeries(same, first, last, resolutionMs) })
    else if (kind === 'counter') out.push({ ...base, kind, rate: scalarSeries(same, first, last, 1000 / resolutionMs) })
    else out.push({ ...base, kind, values: scalarSeries(same, first, last) })
  }
  return out
}

function scalarSeries(rings: readonly SeriesRing[], first: number, last: number, scale = 1): (number | null)[] {
  const length = Math.max(0, last - first + 1)
  const sums = new Float64Array(length)
  const present = new Uint8Array(length)
  for (const ring of rings) ring.sumInto(first, last, sums, present)
  const out = new Array<number | null>(length)
  for (let i = 0; i < length; i++) out[i] = present[i] ? sums[i]! * scale : null
  return out
}

function histogramSeries(rings: readonly SeriesRing[], first: number, last: number, resolutionMs: number) {
  const rate: (number | null)[] = []
  const quantiles: Record<string, (number | null)[]> = Object.fromEntries(QUANTILES.map((q) => [`p${q * 100}`, []]))
  for (let slot = first; slot <= last; slot++) {
    const h = slotHistogram(rings, slot)
    rate.push(h === undefined ? null : h.count / (resolutionMs / 1000))
    for (const q of QUANTILES) quantiles[`p${q * 100}`]!.push(h === undefined || h.count === 0 ? null : quantile(h, q))
  }
  return { rate, quantiles }
}

function slotHistogram(rings: readonly SeriesRing[], slot: number): HistogramData | undefined {
  let total: HistogramData | undefined
  for (const ring of rings) {
    const cell = new Float64Array(ring.width)
    if (!ring.read(slot, cell)) continue
    const h: HistogramData = { buckets: [...ring.buckets], counts: Array.from(cell.subarray(2)), sum: cell[1]!, count: cell[0]! }
    total = total === undefined ? h : addHistograms(total, h)
  }
  return total
}

/** The q-quantile, linear within its bucket; the +Inf bucket answers the highest finite bound. */
export function quantile(h: HistogramData, q: number): number | null {
  if (h.count <= 0) return null
  const rank = q * h.count
  let seen = 0
  for (let i = 0; i < h.counts.length; i++) {
    const count = h.counts[i]!
    if (seen + count >= rank && count > 0) {
      if (i >= h.buckets.length) return h.buckets.at(-1) ?? null
      const lower = i === 0 ? Math.min(0, h.buckets[0]!) : h.buckets[i - 1]!
      return lower + (h.buckets[i]! - lower) * ((rank - seen) / count)
    }
    seen += count
  }
  return h.buckets.at(-1) ?? null
}
