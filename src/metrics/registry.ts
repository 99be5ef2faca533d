/**
 * The instruments of one Metrics, by name. Creation validates (and may throw); collection
 * and rendering walk every instrument after running the hooks that refresh sampled
 * values (process metrics).
 */
import { InvalidArgumentError } from '../errors.js'
import type { Logger } from '../internal/logger.js'
import type { MetricKind, MetricPoint } from '../types.js'
import { finishExposition } from './exposition.js'
import { CounterImpl, GaugeImpl, HistogramImpl, type Instrument } from './instruments.js'
import { checkBuckets, checkHelp, checkMetricName, describe } from './names.js'
import type { HistogramOptions, InstrumentOptions, MetricFamilySnapshot } from './types.js'

/** Why a hook runs: a collection (window ends) or a render (a peek). */
export type HookReason = 'collect' | 'render'
export type CollectHook = (reason: HookReason) => void

export interface RegistryOptions {
  readonly maxSeriesPerInstrument: number
  readonly defaultBuckets: readonly number[]
  readonly logger: Logger
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const

export class InstrumentRegistry {
  private readonly instruments = new Map<string, Instrument>()
  /** Names a histogram's exposition uses (`x_bucket`…) → the histogram. */
  private readonly derived = new Map<string, string>()
  private readonly hooks: CollectHook[] = []

  constructor(private readonly options: RegistryOptions) {}

  counter(name: string, options: InstrumentOptions = {}): CounterImpl {
    checkOptions(name, options, INSTRUMENT_KEYS)
    return this.getOrCreate(name, 'counter', () => new CounterImpl(this.config(name, options)))
  }

  gauge(name: string, options: InstrumentOptions = {}): GaugeImpl {
    checkOptions(name, options, INSTRUMENT_KEYS)
    return this.getOrCreate(name, 'gauge', () => new GaugeImpl(this.config(name, options)))
  }

  histogram(name: string, options: HistogramOptions = {}): HistogramImpl {
    // Before the first read of options.buckets: a null must be an InvalidArgumentError, not a TypeError.
    checkOptions(name, options, HISTOGRAM_KEYS)
    const buckets = options.buckets === undefined ? this.options.defaultBuckets : checkBuckets(`histogram ${name}: buckets`, options.buckets)
    const existing = this.getOrCreate(name, 'histogram', () => new HistogramImpl({ ...this.config(name, options), buckets }))
    if (options.buckets !== undefined && !sameNumbers(existing.buckets, buckets)) {
      throw new InvalidArgumentError(`histogram ${name} already exists with buckets ${describe(existing.buckets)}, not ${describe(buckets)}`)
    }
    return existing
  }

  addHook(hook: CollectHook): void {
    this.hooks.push(hook)
  }

  /** Ends the window: the points to send (counter and histogram deltas, gauge values). */
  collect(): MetricPoint[] {
    this.runHooks('collect')
    const points: MetricPoint[] = []
    for (const instrument of this.instruments.values()) instrument.collect(points)
    return points
  }

  render(): string {
    this.runHooks('render')
    const lines: string[] = []
    for (const instrument of this.instruments.values()) instrument.render(lines)
    return finishExposition(lines)
  }

  snapshot(): MetricFamilySnapshot[] {
    this.runHooks('render')
    const families: MetricFamilySnapshot[] = []
    for (const instrument of this.instruments.values()) {
      const family = instrument.snapshot()
      if (family !== undefined) families.push(family)
    }
    return families
  }

  private runHooks(reason: HookReason): void {
    for (const hook of this.hooks) {
      try {
        hook(reason)
      } catch (error) {
        this.options.logger.warn('a metrics collection hook failed', { error })
      }
    }
  }

  private config(name: string, options: InstrumentOptions) {
    const help = checkHelp(`metric ${name}: help`, options.help)
    const maxSeries = options.maxSeries ?? this.options.maxSeriesPerInstrument
    if (typeof maxSeries !== 'number' || !Number.isSafeInteger(maxSeries) || maxSeries < 1) {
      throw new InvalidArgumentError(`metric ${name}: maxSeries must be an integer >= 1, got ${describe(maxSeries)}`)
    }
    return { name, help, maxSeries, logger: this.options.logger }
  }

  private getOrCreate<T extends Instrument>(name: string, kind: MetricKind, create: () => T): T {
    checkMetricName(name)
    const existing = this.instruments.get(name)
    if (existing !== undefined) {
      if (existing.kind !== kind) throw new InvalidArgumentError(`metric ${name} already exists as a ${existing.kind}, not a ${kind}`)
      return existing as T
    }
    this.checkCollisions(name, kind)
    const instrument = create()
    this.instruments.set(name, instrument)
    if (kind === 'histogram') for (const s of HISTOGRAM_SUFFIXES) this.derived.set(name + s, name)
    return instrument
  }

  /** A histogram `x` exposes `x_bucket`, `x_sum`, `x_count`: no other metric may use those names. */
  private checkCollisions(name: string, kind: MetricKind): void {
    const owner = this.derived.get(name)
    if (owner !== undefined) throw new InvalidArgumentError(`metric name ${name} is taken by the series of histogram ${owner}`)
    if (kind !== 'histogram') return
    for (const s of HISTOGRAM_SUFFIXES) {
      if (this.instruments.has(name + s)) throw new InvalidArgumentError(`histogram ${name} would expose ${name + s}, which is already a metric`)
    }
  }
}

const INSTRUMENT_KEYS: readonly string[] = ['help', 'maxSeries']
const HISTOGRAM_KEYS: readonly string[] = [...INSTRUMENT_KEYS, 'buckets']

/** The options bag: an object with known names only (a misspelt `help` would vanish in silence). */
function checkOptions(name: unknown, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`metric ${describe(name)}: options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`metric ${describe(name)}: options.${key} is not an option (known: ${known.join(', ')})`)
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
