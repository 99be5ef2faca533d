/**
 * Bench harness: cases of one comparison run in alternating rounds inside one process
 * (A B C, B C A, …) and report medians, because the machine is shared and noisy and a
 * single sample swings up to 2x. Ratios are against the comparison's first case.
 */
import { cpuUsage } from 'node:process'

export interface BenchCase {
  readonly name: string
  /** Runs `iterations` operations; may be async. */
  readonly run: (iterations: number) => unknown
}

export interface CompareOptions {
  readonly rounds?: number
  readonly iterations: number
  readonly warmupIterations?: number
}

export interface CaseResult {
  readonly name: string
  readonly nsPerOp: number
  readonly opsPerSec: number
  /** CPU time (user + system) of this process per operation. */
  readonly cpuNsPerOp: number
  /** nsPerOp of the baseline divided by this case's: > 1 means faster than the baseline. */
  readonly speedVsBaseline: number
}

export interface ComparisonResult {
  readonly title: string
  readonly baseline: string
  readonly cases: readonly CaseResult[]
  readonly notes?: readonly string[]
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[idx] as number
}

export async function compare(title: string, cases: readonly BenchCase[], options: CompareOptions): Promise<ComparisonResult> {
  const rounds = options.rounds ?? 7
  const samples = new Map<string, { ns: number[]; cpu: number[] }>(cases.map((c) => [c.name, { ns: [], cpu: [] }]))
  for (const c of cases) await c.run(options.warmupIterations ?? Math.max(1, Math.floor(options.iterations / 10)))
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length] as BenchCase
      const cpu0 = cpuUsage()
      const t0 = process.hrtime.bigint()
      await c.run(options.iterations)
      const elapsed = Number(process.hrtime.bigint() - t0)
      const cpu = cpuUsage(cpu0)
      const s = samples.get(c.name)!
      s.ns.push(elapsed / options.iterations)
      s.cpu.push(((cpu.user + cpu.system) * 1000) / options.iterations)
    }
  }
  const base = median(samples.get(cases[0]!.name)!.ns)
  return {
    title,
    baseline: cases[0]!.name,
    cases: cases.map((c) => {
      const s = samples.get(c.name)!
      const ns = median(s.ns)
      return { name: c.name, nsPerOp: ns, opsPerSec: 1e9 / ns, cpuNsPerOp: median(s.cpu), speedVsBaseline: base / ns }
    }),
  }
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(1)} ns`
}

export function printComparison(result: ComparisonResult): void {
  console.log(`\n## ${result.title}  (ratios vs ${result.baseline})`)
  const rows = result.cases.map((c) => [
    c.name,
    formatNs(c.nsPerOp),
    `${Math.round(c.opsPerSec).toLocaleString('en-US')}/s`,
    formatNs(c.cpuNsPerOp),
    `${c.speedVsBaseline.toFixed(2)}x`,
  ])
  const header = ['case', 'median/op', 'throughput', 'cpu/op', 'speed vs baseline']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]): string => r.map((v, i) => v.padEnd(widths[i]!)).join('  ')
  console.log(line(header))
  for (const r of rows) console.log(line(r))
  for (const n of result.notes ?? []) console.log(`  note: ${n}`)
}

/** A suite prints its comparisons and returns them for the JSON results file. */
export type BenchSuite = () => Promise<readonly ComparisonResult[]>
