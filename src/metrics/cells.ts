/**
 * The accumulators behind one series. A cell lives as long as its instrument: the label
 * trie and bound handles point at it directly, so a collection never swaps cells out;
 * it reads the window's delta and moves it into the running total in one synchronous
 * step (nothing can record in between on a single JS thread), which is the swap.
 */
import type { MetricPoint } from '../types.js'

export type LabelSet = Readonly<Record<string, string>>

export class CounterCell {
  /** Increments since the last collection. */
  value = 0
  /** Everything collected before the current window (render() adds `value`). */
  total = 0
  /** False until the first collection: a new series is sent even when its delta is 0. */
  seen = false
  constructor(readonly labels: LabelSet) {}
}

export class GaugeCell {
  value = 0
  constructor(readonly labels: LabelSet) {}
}

export class HistogramCell {
  /** Per-bucket counts of the current window (not cumulative); the last is +Inf. */
  readonly counts: Float64Array
  sum = 0
  readonly totalCounts: Float64Array
  totalSum = 0
  seen = false
  constructor(
    readonly labels: LabelSet,
    bucketCount: number,
  ) {
    this.counts = new Float64Array(bucketCount + 1)
    this.totalCounts = new Float64Array(bucketCount + 1)
  }
}

/** Reads and resets a counter's window; undefined when there is nothing to send. */
export function collectCounter(name: string, help: string | undefined, cell: CounterCell): MetricPoint | undefined {
  const delta = cell.value
  if (delta === 0 && cell.seen) return undefined
  cell.value = 0
  cell.total += delta
  cell.seen = true
  return help === undefined
    ? { name, kind: 'counter', labels: cell.labels, value: delta }
    : { name, kind: 'counter', labels: cell.labels, value: delta, help }
}

export function collectGauge(name: string, help: string | undefined, cell: GaugeCell): MetricPoint {
  return help === undefined
    ? { name, kind: 'gauge', labels: cell.labels, value: cell.value }
    : { name, kind: 'gauge', labels: cell.labels, value: cell.value, help }
}

export function collectHistogram(
  name: string,
  help: string | undefined,
  buckets: readonly number[],
  cell: HistogramCell,
): MetricPoint | undefined {
  let count = 0
  for (let i = 0; i < cell.counts.length; i++) count += cell.counts[i] as number
  if (count === 0 && cell.seen) return undefined
  const counts = Array.from(cell.counts)
  for (let i = 0; i < counts.length; i++) cell.totalCounts[i]! += counts[i] as number
  const sum = cell.sum
  cell.totalSum += sum
  cell.counts.fill(0)
  cell.sum = 0
  cell.seen = true
  const point = { name, kind: 'histogram' as const, labels: cell.labels, buckets, counts, sum, count }
  return help === undefined ? point : { ...point, help }
}
