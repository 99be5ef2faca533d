/**
 * Counter, gauge and histogram. The recording methods are the hot path: a type check,
 * one trie walk (or none, for a bound handle) and a few stores. They never throw and
 * allocate nothing for a label set already seen; bad input is logged once and dropped.
 */
import type { Logger } from '../internal/logger.js'
import type { MetricKind, MetricPoint } from '../types.js'
import {
  CounterCell,
  GaugeCell,
  HistogramCell,
  collectCounter,
  collectGauge,
  collectHistogram,
} from './cells.js'
import { writeHeader, writeHistogram, writeSample } from './exposition.js'
import { describe } from './names.js'
import { SeriesStore, type Labels } from './series-store.js'
import type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  Counter,
  Gauge,
  Histogram,
  HistogramSeriesSnapshot,
  MetricFamilySnapshot,
  NumberSeriesSnapshot,
} from './types.js'

const NO_LABELS: Labels = Object.freeze({})

export interface InstrumentConfig {
  readonly name: string
  readonly help: string | undefined
  readonly maxSeries: number
  readonly logger: Logger
}

/** What the registry needs from every instrument. */
export interface Instrument {
  readonly name: string
  readonly kind: MetricKind
  readonly help: string | undefined
  collect(points: MetricPoint[]): void
  render(out: string[]): void
  /** Cumulative values of every series, what render() shows, as data; undefined when it has none. */
  snapshot(): MetricFamilySnapshot | undefined
}

abstract class Base<C> {
  protected readonly store: SeriesStore<C>
  private warnedValue = false
  readonly name: string
  readonly help: string | undefined

  constructor(
    protected readonly config: InstrumentConfig,
    histogram: boolean,
    create: (labels: Readonly<Record<string, string>>) => C,
  ) {
    this.name = config.name
    this.help = config.help
    this.store = new SeriesStore<C>({ metric: config.name, maxSeries: config.maxSeries, histogram, logger: config.logger, create })
  }

  private warnedOverflow = false

  /**
   * Finite values one by one can still add up to ±Infinity (a gauge inc()'d past 1.8e308).
   * JSON sends that as null, which the server refuses, and with it every other point of the
   * batch: the point is dropped here instead, logged once per metric.
   */
  protected sendable(point: MetricPoint): boolean {
    const value = point.kind === 'histogram' ? point.sum : point.value
    if (Number.isFinite(value)) return true
    if (!this.warnedOverflow) {
      this.warnedOverflow = true
      this.config.logger.warn(`metric ${this.name}: a series reached ${value}; its points are not sent until it is finite again (logged once per metric)`)
    }
    return false
  }

  /** Kept out of line so the recording methods stay small enough to inline. */
  badValue(value: unknown, rule: string): void {
    if (this.warnedValue) return
    this.warnedValue = true
    this.config.logger.warn(`metric ${this.name}: value ${describe(value)} dropped, ${rule} (logged once per metric)`)
  }
}

export class CounterImpl extends Base<CounterCell> implements Counter, Instrument {
  readonly kind = 'counter'

  constructor(config: InstrumentConfig) {
    super(config, false, (labels) => new CounterCell(labels))
  }

  inc(value = 1, labels: Labels = NO_LABELS): void {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) return this.badValue(value, 'counters take finite numbers >= 0')
    const cell = this.store.lookup(labels)
    if (cell !== undefined) cell.value += value
  }

  add(value: number, labels?: Labels): void {
    this.inc(value, labels)
  }

  bind(labels: Labels = NO_LABELS): BoundCounter {
    return new BoundCounterImpl(this, this.store.bind(labels))
  }

  collect(points: MetricPoint[]): void {
    for (const cell of this.store.cells()) {
      const point = collectCounter(this.name, this.help, cell)
      if (point !== undefined && this.sendable(point)) points.push(point)
    }
  }

  render(out: string[]): void {
    if (!hasAny(this.store.cells())) return
    writeHeader(out, this.name, 'counter', this.help)
    for (const cell of this.store.cells()) writeSample(out, this.name, cell.labels, cell.total + cell.value)
  }

  snapshot(): MetricFamilySnapshot | undefined {
    const series: NumberSeriesSnapshot[] = []
    for (const cell of this.store.list()) series.push({ labels: cell.labels, value: cell.total + cell.value })
    return series.length === 0 ? undefined : { name: this.name, kind: 'counter', help: this.help, series }
  }
}

class BoundCounterImpl implements BoundCounter {
  constructor(
    private readonly owner: CounterImpl,
    private readonly cell: CounterCell,
  ) {}

  inc(value = 1): void {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) return this.owner.badValue(value, 'counters take finite numbers >= 0')
    this.cell.value += value
  }

  add(value: number): void {
    this.inc(value)
  }
}

const FINITE = 'gauges take finite numbers'

export class GaugeImpl extends Base<GaugeCell> implements Gauge, Instrument {
  readonly kind = 'gauge'

  constructor(config: InstrumentConfig) {
    super(config, false, (labels) => new GaugeCell(labels))
  }

  set(value: number, labels: Labels = NO_LABELS): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.badValue(value, FINITE)
    const cell = this.store.lookup(labels)
    if (cell !== undefined) cell.value = value
  }

  inc(value = 1, labels: Labels = NO_LABELS): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.badValue(value, FINITE)
    const cell = this.store.lookup(labels)
    if (cell !== undefined) cell.value += value
  }

  dec(value = 1, labels: Labels = NO_LABELS): void {
    this.inc(typeof value === 'number' ? -value : value, labels)
  }

  bind(labels: Labels = NO_LABELS): BoundGauge {
    return new BoundGaugeImpl(this, this.store.bind(labels))
  }

  collect(points: MetricPoint[]): void {
    for (const cell of this.store.cells()) {
      const point = collectGauge(this.name, this.help, cell)
      if (this.sendable(point)) points.push(point)
    }
  }

  render(out: string[]): void {
    if (!hasAny(this.store.cells())) return
    writeHeader(out, this.name, 'gauge', this.help)
    for (const cell of this.store.cells()) writeSample(out, this.name, cell.labels, cell.value)
  }

  snapshot(): MetricFamilySnapshot | undefined {
    const series: NumberSeriesSnapshot[] = []
    for (const cell of this.store.list()) series.push({ labels: cell.labels, value: cell.value })
    return series.length === 0 ? undefined : { name: this.name, kind: 'gauge', help: this.help, series }
  }
}

class BoundGaugeImpl implements BoundGauge {
  constructor(
    private readonly owner: GaugeImpl,
    private readonly cell: GaugeCell,
  ) {}

  set(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.owner.badValue(value, FINITE)
    this.cell.value = value
  }

  inc(value = 1): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.owner.badValue(value, FINITE)
    this.cell.value += value
  }

  dec(value = 1): void {
    this.inc(typeof value === 'number' ? -value : value)
  }
}

export interface HistogramConfig extends InstrumentConfig {
  readonly buckets: readonly number[]
}

export class HistogramImpl extends Base<HistogramCell> implements Histogram, Instrument {
  readonly kind = 'histogram'
  readonly buckets: readonly number[]
  private readonly bounds: Float64Array

  constructor(config: HistogramConfig) {
    super(config, true, (labels) => new HistogramCell(labels, config.buckets.length))
    this.buckets = config.buckets
    this.bounds = Float64Array.from(config.buckets)
  }

  observe(value: number, labels: Labels = NO_LABELS): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.badValue(value, 'histograms take finite numbers')
    const cell = this.store.lookup(labels)
    if (cell === undefined) return
    cell.counts[bucketIndex(this.bounds, value)]! += 1
    cell.sum += value
  }

  bind(labels: Labels = NO_LABELS): BoundHistogram {
    return new BoundHistogramImpl(this, this.store.bind(labels), this.bounds)
  }

  collect(points: MetricPoint[]): void {
    for (const cell of this.store.cells()) {
      const point = collectHistogram(this.name, this.help, this.buckets, cell)
      if (point !== undefined && this.sendable(point)) points.push(point)
    }
  }

  render(out: string[]): void {
    if (!hasAny(this.store.cells())) return
    writeHeader(out, this.name, 'histogram', this.help)
    const counts = new Float64Array(this.buckets.length + 1)
    for (const cell of this.store.cells()) {
      for (let i = 0; i < counts.length; i++) counts[i] = (cell.totalCounts[i] as number) + (cell.counts[i] as number)
      writeHistogram(out, this.name, cell.labels, this.buckets, counts, cell.totalSum + cell.sum)
    }
  }

  snapshot(): MetricFamilySnapshot | undefined {
    const series: HistogramSeriesSnapshot[] = []
    for (const cell of this.store.list()) {
      const counts = new Array<number>(cell.counts.length)
      let count = 0
      for (let i = 0; i < counts.length; i++) count += counts[i] = (cell.totalCounts[i] as number) + (cell.counts[i] as number)
      series.push({ labels: cell.labels, counts, sum: cell.totalSum + cell.sum, count })
    }
    return series.length === 0 ? undefined : { name: this.name, kind: 'histogram', help: this.help, buckets: this.buckets, series }
  }
}

class BoundHistogramImpl implements BoundHistogram {
  constructor(
    private readonly owner: HistogramImpl,
    private readonly cell: HistogramCell,
    private readonly bounds: Float64Array,
  ) {}

  observe(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.owner.badValue(value, 'histograms take finite numbers')
    this.cell.counts[bucketIndex(this.bounds, value)]! += 1
    this.cell.sum += value
  }
}

/** First bucket whose upper bound is >= value (Prometheus `le` is inclusive); bounds.length is +Inf. */
export function bucketIndex(bounds: Float64Array, value: number): number {
  const n = bounds.length
  if (n <= 16) {
    let i = 0
    while (i < n && value > (bounds[i] as number)) i++
    return i
  }
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (value > (bounds[mid] as number)) lo = mid + 1
    else hi = mid
  }
  return lo
}

function hasAny(cells: Iterator<unknown>): boolean {
  return cells.next().done !== true
}
