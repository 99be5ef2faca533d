/** Adding histograms, including ones whose bucket layouts differ. */

export interface HistogramData {
  buckets: number[]
  counts: number[]
  sum: number
  count: number
}

export function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, i) => bound === b[i])
}

/**
 * Re-buckets `h` onto `bounds`, which must be a subset of its own bounds. Exact: every
 * new bucket is a union of old ones, because each kept bound is an old bound.
 */
export function coarsen(h: HistogramData, bounds: readonly number[]): HistogramData {
  const counts = new Array<number>(bounds.length + 1).fill(0)
  let target = 0
  h.counts.forEach((count, i) => {
    const upper = i < h.buckets.length ? h.buckets[i]! : Infinity
    while (target < bounds.length && bounds[target]! < upper) target++
    counts[target]! += count
  })
  return { buckets: [...bounds], counts, sum: h.sum, count: h.count }
}

/** Adds `b` into `a`; when their layouts differ, onto the bounds they share. */
export function addHistograms(a: HistogramData, b: HistogramData): HistogramData {
  if (sameBuckets(a.buckets, b.buckets)) {
    return { buckets: a.buckets, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), sum: a.sum + b.sum, count: a.count + b.count }
  }
  const shared = new Set(b.buckets)
  const bounds = a.buckets.filter((bound) => shared.has(bound))
  return addHistograms(coarsen(a, bounds), coarsen(b, bounds))
}
