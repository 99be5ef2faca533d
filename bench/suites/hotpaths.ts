/**
 * Before/after of the hot paths, in one process: the same public-API calls against two builds,
 * this checkout's `dist/` (run `npm run build` first) and a baseline build named by
 * BENCH_BASELINE (the `dist/` folder of another checkout, e.g. a `git worktree` of the commit
 * before a refactor). Rounds alternate between the builds, so the ratio is a same-run figure on a
 * noisy machine. Goal (issue 17): every ratio within 5% (0.95 or better).
 *
 *   git worktree add --detach /tmp/base <commit> && (cd /tmp/base && npm ci && npx tsup)
 *   npm run build && BENCH_BASELINE=/tmp/base/dist npm run bench -- hotpaths
 *
 * Without BENCH_BASELINE the suite compares this build with itself (ratios near 1.00 show the
 * run's own noise) and says so.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { compare, printComparison, type BenchCase, type BenchSuite, type ComparisonResult } from '../lib.js'

interface Build {
  readonly label: string
  readonly gov: Client
  close(): Promise<void>
}

/** The slice of the public API the cases call, typed loosely so two builds fit one shape. */
interface Client {
  discover(service: string, options?: object): Promise<unknown>
  pickSync(service: string, options?: object): unknown
  readonly metrics: {
    counter(name: string): { inc(value: number, labels: Record<string, string>): void }
    histogram(name: string, options?: object): { observe(value: number, labels: Record<string, string>): void }
  }
  close(): Promise<void>
}

interface Entry {
  readonly GovernanceClient: new (options: object) => Client
}
interface TestingEntry {
  createMemoryBackend(): { addInstance(instance: object): void }
}

const here = fileURLToPath(new URL('.', import.meta.url))
const LABELS = [
  { route: '/orders', status: '200' },
  { route: '/orders', status: '500' },
  { route: '/payments', status: '200' },
  { route: '/health', status: '200' },
]
const VALUES = Array.from({ length: 64 }, (_, i) => Math.round(Math.abs(Math.sin(i + 1)) * 0.3 * 1e4) / 1e4)

async function load(label: string, dist: string): Promise<Build> {
  const main = (await import(pathToFileURL(join(dist, 'index.js')).href)) as Entry
  const testing = (await import(pathToFileURL(join(dist, 'testing.js')).href)) as TestingEntry
  const backend = testing.createMemoryBackend()
  for (let i = 0; i < 8; i++) backend.addInstance({ service: 'payments', id: `p${i}`, address: '10.0.0.1', port: 8000 + i, weight: 1 + (i % 3) })
  const gov = new main.GovernanceClient({ backend, logger: false, metrics: { processMetrics: false, upstreamMetrics: false } })
  await gov.discover('payments')
  return { label, gov, close: () => gov.close() }
}

/**
 * Compiles a case's loop once per build: two closures of one function literal would share V8's
 * inline caches, turning both polymorphic and favouring whichever build the cache saw first.
 */
function loop(source: string, env: Record<string, unknown>): (n: number) => unknown {
  const names = Object.keys(env)
  return new Function(...names, `return ${source}`)(...names.map((k) => env[k])) as (n: number) => unknown
}

const suite: BenchSuite = async () => {
  const current = resolve(here, '../../dist')
  if (!existsSync(join(current, 'index.js'))) throw new Error('hotpaths: run `npm run build` first (no dist/index.js)')
  const baselineDir = process.env.BENCH_BASELINE
  if (baselineDir === undefined) console.log('hotpaths: BENCH_BASELINE is not set: comparing this build with itself (noise check)')
  const before = await load(baselineDir === undefined ? 'this build (copy A)' : `before (${baselineDir})`, baselineDir ?? current)
  const after = await load(baselineDir === undefined ? 'this build (copy B)' : 'after (this checkout)', current)
  const results: ComparisonResult[] = []
  const box = { sink: undefined as unknown }
  let id = 0
  /** The same loop on the baseline build first (the ratio's denominator), then this one. */
  const run = async (title: string, iterations: number, source: string, setup: (gov: Client) => Record<string, unknown> = () => ({})): Promise<void> => {
    const cases: BenchCase[] = [before, after].map((b) => ({ name: b.label, run: loop(source, { gov: b.gov, box, LABELS, VALUES, ...setup(b.gov) }) }))
    const r = await compare(title, cases, { iterations, rounds: 15 })
    const result = { ...r, notes: [`after/before speed: ${r.cases[1]!.speedVsBaseline.toFixed(3)} (goal >= 0.95)`] }
    printComparison(result)
    results.push(result)
  }
  await run('await gov.discover(svc) on a warm cache', 300_000, `async (n) => { for (let i = 0; i < n; i++) box.sink = await gov.discover('payments') }`)
  await run('gov.pickSync(svc)', 2_000_000, `(n) => { for (let i = 0; i < n; i++) box.sink = gov.pickSync('payments') }`)
  await run("gov.pickSync(svc, { strategy: 'weighted' }) with a fresh literal", 1_000_000, `(n) => { for (let i = 0; i < n; i++) box.sink = gov.pickSync('payments', { strategy: 'weighted' }) }`)
  await run("await gov.discover(svc, { status: 'any' }) with a fresh literal", 300_000, `async (n) => { for (let i = 0; i < n; i++) box.sink = await gov.discover('payments', { status: 'any' }) }`)
  await run('counter.inc(1, labels) with 2 labels', 2_000_000, `(n) => { for (let i = 0; i < n; i++) c.inc(1, LABELS[i & 3]) }`, (gov) => ({ c: gov.metrics.counter(`bench_hot_${id++}_total`) }))
  await run('histogram.observe(v, labels) with 2 labels', 2_000_000, `(n) => { for (let i = 0; i < n; i++) h.observe(VALUES[i & 63], LABELS[i & 3]) }`, (gov) => ({ h: gov.metrics.histogram(`bench_hot_${id++}_seconds`) }))
  await before.close()
  await after.close()
  return results
}

export default suite
