/**
 * One Pushgateway group's running totals, by metric family: batches carry deltas, the
 * gateway wants the whole state. Rendered per family so that a family the gateway refuses
 * can be left out of the push.
 */
import type { MetricKind, MetricPoint } from '../types.js'
import type { LabelSet } from './cells.js'
import { finishExposition, writeHeader, writeHistogram, writeSample } from './exposition.js'

interface Series {
  readonly labels: LabelSet
  value: number
  counts: number[]
  sum: number
}

export interface Family {
  readonly kind: MetricKind
  help: string | undefined
  buckets: readonly number[]
  readonly series: Map<string, Series>
}

export type Families = Map<string, Family>

export function applyPoints(families: Map<string, Family>, points: readonly MetricPoint[]): void {
  for (const point of points) {
    let family = families.get(point.name)
    if (family === undefined || family.kind !== point.kind) {
      family = { kind: point.kind, help: point.help, buckets: point.kind === 'histogram' ? point.buckets : [], series: new Map() }
      families.set(point.name, family)
    }
    if (point.help !== undefined) family.help = point.help
    const key = JSON.stringify(Object.entries(point.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (point.kind !== 'histogram') {
      const series = family.series.get(key)
      if (series === undefined) family.series.set(key, { labels: point.labels, value: point.value, counts: [], sum: 0 })
      else series.value = point.kind === 'counter' ? series.value + point.value : point.value
      continue
    }
    if (!sameBuckets(family.buckets, point.buckets)) {
      // The buckets changed: as in the protocol, the series are replaced, not merged.
      family.buckets = point.buckets
      family.series.clear()
    }
    const histogram = family.series.get(key)
    if (histogram === undefined) {
      family.series.set(key, { labels: point.labels, value: 0, counts: [...point.counts], sum: point.sum })
      continue
    }
    for (let i = 0; i < histogram.counts.length; i++) histogram.counts[i]! += point.counts[i] ?? 0
    histogram.sum += point.sum
  }
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** The text of every family whose name `include` accepts. */
export function renderFamilies(families: ReadonlyMap<string, Family>, include: (name: string) => boolean = () => true): string {
  const lines: string[] = []
  for (const [name, family] of families) {
    if (!include(name)) continue
    writeHeader(lines, name, family.kind, family.help)
    for (const s of family.series.values()) {
      if (family.kind === 'histogram') writeHistogram(lines, name, s.labels, family.buckets, s.counts, s.sum)
      else writeSample(lines, name, s.labels, s.value)
    }
  }
  return finishExposition(lines)
}

