/**
 * Metrics recording cost, side by side in one process with the peers a Node service would
 * otherwise use: @opentelemetry/sdk-metrics (with a reader that never exports during the
 * run, or it records nothing) and prom-client. Goals (issue 5): counter.inc with 2 labels
 * >= 10x OTel and >= 3x prom-client; a bound handle within 3x of a Map with a precomputed
 * key; histogram.observe >= 5x OTel and >= 3x prom-client. Plus heap per 1,000 label sets.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { Counter as PromCounter, Histogram as PromHistogram, Registry } from 'prom-client'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMetrics, DEFAULT_LATENCY_BUCKETS_MS, type Metrics } from '../../src/metrics/index.js'
import { compare, median, printComparison, type BenchSuite, type ComparisonResult } from '../lib.js'

const require = createRequire(import.meta.url)
/** The installed version: the nearest package.json above the resolved entry (exports hide it). */
function version(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === name) return pkg.version ?? '?'
    } catch {
      // no package.json at this level
    }
  }
  return '?'
}
const PEERS = `@opentelemetry/sdk-metrics ${version('@opentelemetry/sdk-metrics')}, @opentelemetry/api ${version('@opentelemetry/api')}, prom-client ${version('prom-client')}`

type TwoLabels = { route: string; status: string }
/** The same four label objects for every library, rotated per call. */
const LABELS: readonly TwoLabels[] = [
  { route: '/orders', status: '200' },
  { route: '/orders', status: '500' },
  { route: '/payments', status: '200' },
  { route: '/health', status: '200' },
]
const VALUES = Array.from({ length: 64 }, (_, i) => Math.round(Math.abs(Math.sin(i + 1)) * 300 * 100) / 100)

function ours(): Metrics {
  return createMetrics(
    { processMetrics: false, upstreamMetrics: false },
    { emit: () => undefined, logger: silentLogger, clock: systemClock, service: 'bench', instanceId: 'bench-1', sinks: [] },
  )
}

interface Otel {
  readonly meter: ReturnType<MeterProvider['getMeter']>
  shutdown(): Promise<void>
}

/** OTel as a service would run it: a reader attached (an hour-long interval, so no export runs). */
function otel(): Otel {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  })
  const provider = new MeterProvider({ readers: [reader] })
  return { meter: provider.getMeter('bench'), shutdown: () => provider.shutdown() }
}

async function counters(o: Otel): Promise<ComparisonResult> {
  const c = ours().counter('bench_requests_total')
  const oc = o.meter.createCounter('bench_requests_total')
  const pc = new PromCounter({ name: 'bench_requests_total', help: 'h', labelNames: ['route', 'status'], registers: [new Registry()] })
  const result = await compare(
    'counter increment with 2 labels',
    [
      { name: 'governance-client counter.inc(1, labels)', run: (n) => { for (let i = 0; i < n; i++) c.inc(1, LABELS[i & 3] as TwoLabels) } },
      { name: 'OTel Counter.add(1, attrs)', run: (n) => { for (let i = 0; i < n; i++) oc.add(1, LABELS[i & 3] as TwoLabels) } },
      { name: 'prom-client Counter.inc(labels)', run: (n) => { for (let i = 0; i < n; i++) pc.inc(LABELS[i & 3] as TwoLabels) } },
    ],
    { iterations: 300_000 },
  )
  return withGoals(result, [['OTel', 10], ['prom-client', 3]])
}

async function bound(): Promise<ComparisonResult> {
  const c = ours().counter('bench_bound_total')
  const handle = c.bind(LABELS[0] as TwoLabels)
  const map = new Map<string, number>()
  const key = 'route=/orders,status=200'
  const pc = new PromCounter({ name: 'bench_bound_total', help: 'h', labelNames: ['route', 'status'], registers: [new Registry()] })
  const child = pc.labels(LABELS[0] as TwoLabels)
  const result = await compare(
    'bound handle vs a Map with a precomputed key',
    [
      { name: 'Map.set(key, Map.get(key) + 1), key precomputed', run: (n) => { for (let i = 0; i < n; i++) map.set(key, (map.get(key) ?? 0) + 1) } },
      { name: 'governance-client bound.inc()', run: (n) => { for (let i = 0; i < n; i++) handle.inc() } },
      { name: 'prom-client labels(...) child .inc()', run: (n) => { for (let i = 0; i < n; i++) child.inc() } },
    ],
    { iterations: 1_000_000 },
  )
  const ratio = (result.cases[0]?.speedVsBaseline ?? 1) / (result.cases[1]?.speedVsBaseline ?? 1)
  return { ...result, notes: [`bound handle costs ${ratio.toFixed(2)}x the Map floor (goal <= 3x): ${ratio <= 3 ? 'met' : 'NOT met'}`] }
}

async function histograms(o: Otel): Promise<ComparisonResult> {
  const buckets = [...DEFAULT_LATENCY_BUCKETS_MS]
  const h = ours().histogram('bench_rt_ms', { buckets })
  const oh = o.meter.createHistogram('bench_rt_ms', { advice: { explicitBucketBoundaries: buckets } })
  const ph = new PromHistogram({ name: 'bench_rt_ms', help: 'h', labelNames: ['route', 'status'], buckets, registers: [new Registry()] })
  const result = await compare(
    'histogram observation with 2 labels (13 buckets)',
    [
      { name: 'governance-client histogram.observe(v, labels)', run: (n) => { for (let i = 0; i < n; i++) h.observe(VALUES[i & 63] as number, LABELS[i & 3] as TwoLabels) } },
      { name: 'OTel Histogram.record(v, attrs)', run: (n) => { for (let i = 0; i < n; i++) oh.record(VALUES[i & 63] as number, LABELS[i & 3] as TwoLabels) } },
      { name: 'prom-client Histogram.observe(labels, v)', run: (n) => { for (let i = 0; i < n; i++) ph.observe(LABELS[i & 3] as TwoLabels, VALUES[i & 63] as number) } },
    ],
    { iterations: 200_000 },
  )
  return withGoals(result, [['OTel', 5], ['prom-client', 3]])
}

/** Ours is the baseline (case 0): a peer's speedVsBaseline is 1 / (how many times faster ours is). */
function withGoals(result: ComparisonResult, goals: readonly [string, number][]): ComparisonResult {
  const notes = goals.map(([peer, goal]) => {
    const c = result.cases.find((x) => x.name.startsWith(peer))
    const times = c === undefined ? Number.NaN : 1 / c.speedVsBaseline
    return `governance-client is ${times.toFixed(1)}x faster than ${peer} (goal >= ${goal}x): ${times >= goal ? 'met' : 'NOT met'}`
  })
  return { ...result, notes: [...notes, `peers measured: ${PEERS}`] }
}

/** Exposes gc() without a command-line flag, for the heap figures. */
function gcFunction(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const LABEL_SETS = 1_000
const HEAP_REPEATS = 7

/** Heap retained by 1,000 distinct label sets (one increment each, a fresh instrument each time), and the cost of a first recording. */
async function labelSets(o: Otel): Promise<ComparisonResult> {
  const gc = gcFunction()
  let round = 0
  const fresh = (): string => `bench_sets_${round++}_total`
  const sets = (): TwoLabels[] => Array.from({ length: LABEL_SETS }, (_, i) => ({ route: `/r/${round}/${i}`, status: String(200 + (i % 5)) }))
  /** Median over fresh instruments; the label objects are made before the first reading. */
  const heapOf = (make: () => (labels: TwoLabels) => void): number => {
    const samples: number[] = []
    const keep: unknown[] = []
    for (let r = 0; r < HEAP_REPEATS; r++) {
      const record = make()
      const labels = sets()
      gc()
      gc()
      const before = process.memoryUsage().heapUsed
      for (const l of labels) record(l)
      gc()
      gc()
      samples.push(process.memoryUsage().heapUsed - before)
      keep.push(record, labels)
    }
    return median(samples)
  }
  const heap = {
    ours: heapOf(() => ((c) => (l: TwoLabels) => c.inc(1, l))(ours().counter(fresh()))),
    otel: heapOf(() => ((c) => (l: TwoLabels) => c.add(1, l))(o.meter.createCounter(fresh()))),
    prom: heapOf(() => ((c) => (l: TwoLabels) => c.inc(l))(new PromCounter({ name: fresh(), help: 'h', labelNames: ['route', 'status'], registers: [new Registry()] }))),
  }
  // Timing of first recordings: each run makes a new instrument, so every label set is new.
  const pool = sets()
  const result = await compare(
    'first recording of a new label set',
    [
      { name: 'governance-client', run: (n) => { const c = ours().counter(fresh()); for (let i = 0; i < n; i++) c.inc(1, pool[i % LABEL_SETS] as TwoLabels) } },
      { name: 'OTel', run: (n) => { const c = o.meter.createCounter(fresh()); for (let i = 0; i < n; i++) c.add(1, pool[i % LABEL_SETS] as TwoLabels) } },
      { name: 'prom-client', run: (n) => { const c = new PromCounter({ name: fresh(), help: 'h', labelNames: ['route', 'status'], registers: [new Registry()] }); for (let i = 0; i < n; i++) c.inc(pool[i % LABEL_SETS] as TwoLabels) } },
    ],
    { iterations: LABEL_SETS, rounds: 7 },
  )
  const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`
  return {
    ...result,
    notes: [
      `heap per 1,000 label sets (2 labels, one increment each, median of ${HEAP_REPEATS} fresh instruments): governance-client ${kb(heap.ours)}, OTel ${kb(heap.otel)}, prom-client ${kb(heap.prom)}`,
      'governance-client keeps per set: the cell, its frozen canonical labels and its trie path (what makes a seen label set cost no allocation)',
    ],
  }
}

const suite: BenchSuite = async () => {
  const o = otel()
  try {
    const results = [await counters(o), await bound(), await histograms(o), await labelSets(o)]
    for (const r of results) printComparison(r)
    return results
  } finally {
    await o.shutdown()
  }
}

export default suite
