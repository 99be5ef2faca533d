/**
 * The reference server's heartbeat throughput: 64 registered instances, 64 concurrent loops
 * each sending `PUT …/heartbeat` through one undici Pool (64 connections, no pipelining).
 *
 * Two deployments, alternating in rounds inside this one process (A B C D, B C D A, …):
 * - in-process: createGovernanceServer({ port: 0 }) here, so client and server share one
 *   thread and this process's CPU per heartbeat is both sides together;
 * - child process: the CLI (src/server/cli.ts --port 0) in its own Node, so the server has a
 *   thread of its own; its CPU is read from /proc/<pid>/stat (utime + stime).
 * The child is started as `node --import tsx cli.ts` rather than through the tsx CLI, which
 * runs the script in a second, grandchild process: /proc of the wrapper would show nothing.
 *
 * Two more child-process cases: the CLI with `--token` (every request sends it), for what
 * auth adds; and bare node:http giving the same answer, the floor of what any node:http
 * server must spend per heartbeat.
 *
 * BENCH_SERVER_BASELINE=<dir holding index.ts and cli.ts> (e.g. a copy of src/server taken
 * before a change) adds "(baseline)" cases of that copy to both comparisons, same rounds.
 * BENCH_SERVER_HEARTBEATS (per round, default 38,400) and BENCH_SERVER_ROUNDS (default 7).
 *
 * Before those, the load cases of bench/server-load.ts (watchers, expiry, config size,
 * big lists, held queries); BENCH_SERVER_LOAD_ONLY=1 runs only them.
 */
import { join, resolve } from 'node:path'
import { cpuUsage } from 'node:process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Pool } from 'undici'
import { formatNs, median, percentile, type BenchSuite, type CaseResult, type ComparisonResult } from '../lib.js'
import { runLoadCases } from '../server-load.js'
import { procCpuNs, spawnServer } from '../server-child.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CLIENTS = 64
const HEARTBEATS = envInt('BENCH_SERVER_HEARTBEATS', 38_400, CLIENTS)
const ROUNDS = envInt('BENCH_SERVER_ROUNDS', 7, 1)
const SERVICE = 'bench'
const BENCH_TOKEN = 'bench-token-0123456789abcdef0123456789abcdef'

function envInt(name: string, fallback: number, min: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, not ${text}`)
  return value
}

/** A running server: its URL, its own CPU (ns, cumulative) when it is another process, and how to stop it. */
interface Target {
  readonly url: string
  /** Sent with every request: the bearer token when the server was started with one. */
  readonly headers: Readonly<Record<string, string>> | undefined
  readonly serverCpuNs: (() => number) | undefined
  close(): Promise<void>
}

interface Deployment {
  readonly name: string
  readonly mode: 'in-process' | 'child process'
  /** baseline: BENCH_SERVER_BASELINE's copy; floor: bare node:http giving the same answer. */
  readonly role: 'baseline' | 'server' | 'floor' | 'baseline-auth' | 'server-auth'
  readonly start: () => Promise<Target>
}

interface Round {
  readonly perSec: number
  readonly p50Ns: number
  readonly p99Ns: number
  readonly benchCpuNs: number
  readonly serverCpuNs: number | undefined
}

/** What run.ts writes: CaseResult's fields plus latency and the server's CPU. */
export interface ServerCaseResult extends CaseResult {
  readonly p50Ns: number
  readonly p99Ns: number
  /** The child server's CPU per heartbeat; absent in-process (it is inside cpuNsPerOp). */
  readonly serverCpuNsPerOp?: number
  /** Client and server CPU per heartbeat together. */
  readonly totalCpuNsPerOp: number
}

type ServerModule = typeof import('../../src/server/index.js')

function inProcess(name: string, role: Deployment['role'], dir: string): Deployment {
  return {
    name,
    mode: 'in-process',
    role,
    start: async () => {
      const { createGovernanceServer } = (await import(pathToFileURL(join(dir, 'index.ts')).href)) as ServerModule
      const server = await createGovernanceServer({ port: 0 })
      return { url: server.url, headers: undefined, serverCpuNs: undefined, close: () => server.close() }
    },
  }
}

/** With `token`, the server requires it (`--token`) and every request sends it. */
function childProcess(name: string, role: Deployment['role'], dir: string, token?: string): Deployment {
  const args = ['--import', 'tsx', join(dir, 'cli.ts'), '--port', '0', ...(token === undefined ? [] : ['--token', token])]
  return { name, mode: 'child process', role, start: () => startChild(args, token) }
}

/**
 * The floor: node:http answering every request with the heartbeat's answer and headers and
 * nothing else. No server built on node:http can use less CPU per heartbeat than this.
 */
const FLOOR_SCRIPT = `
const body = '{"ttlMs":600000}'
const server = require('node:http').createServer((req, res) => {
  req.resume()
  res.writeHead(200, ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length), 'cache-control', 'no-store'])
  res.end(body)
})
server.listen(0, '127.0.0.1', () => console.log('governance-server listening on http://127.0.0.1:' + server.address().port))
process.on('SIGTERM', () => process.exit(0))
`

const floor: Deployment = { name: 'bare node:http (floor)', mode: 'child process', role: 'floor', start: () => startChild(['-e', FLOOR_SCRIPT]) }

async function startChild(args: readonly string[], token?: string): Promise<Target> {
  const child = await spawnServer(args)
  return {
    url: child.url,
    headers: token === undefined ? undefined : { authorization: `Bearer ${token}` },
    serverCpuNs: () => procCpuNs(child.pid),
    close: child.close,
  }
}

/** A started deployment with its pool and the 64 heartbeat paths. */
interface Running {
  readonly deployment: Deployment
  readonly target: Target
  readonly pool: Pool
  readonly paths: readonly string[]
  readonly rounds: Round[]
}

async function prepare(deployment: Deployment): Promise<Running> {
  const target = await deployment.start()
  const pool = new Pool(target.url, { connections: CLIENTS, pipelining: 1 })
  try {
    return { deployment, target, pool, paths: await register(pool, target.headers), rounds: [] }
  } catch (error) {
    await pool.close()
    await target.close()
    throw error
  }
}

/** Registers the 64 instances; answers their heartbeat paths. */
async function register(pool: Pool, auth: Target['headers']): Promise<string[]> {
  const paths: string[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const instance = `/v1/services/${SERVICE}/instances/i-${i}`
    // The longest lease the protocol allows, so no instance expires between rounds.
    const body = JSON.stringify({ address: '127.0.0.1', port: 9000 + i, ttlMs: 600_000 })
    const res = await pool.request({ path: instance, method: 'PUT', body, headers: { ...auth, 'content-type': 'application/json' } })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`register ${instance}: ${res.statusCode}`)
    paths.push(`${instance}/heartbeat`)
  }
  return paths
}

/** One loop: `count` heartbeats in a row, each latency written at `offset + i`. */
async function loop(run: Running, path: string, count: number, latencies: Float64Array, offset: number): Promise<void> {
  const { pool, target } = run
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint()
    const res = await pool.request({ path, method: 'PUT', headers: target.headers })
    await res.body.dump()
    latencies[offset + i] = Number(process.hrtime.bigint() - t0)
    if (res.statusCode !== 200) throw new Error(`heartbeat ${path}: ${res.statusCode}`)
  }
}

/** 64 loops at once; `total` heartbeats in all. */
async function burst(run: Running, total: number): Promise<Float64Array> {
  const perLoop = Math.floor(total / CLIENTS)
  const latencies = new Float64Array(perLoop * CLIENTS)
  await Promise.all(run.paths.map((path, i) => loop(run, path, perLoop, latencies, i * perLoop)))
  return latencies
}

async function measure(run: Running): Promise<Round> {
  const server0 = run.target.serverCpuNs?.()
  const cpu0 = cpuUsage()
  const t0 = process.hrtime.bigint()
  const latencies = await burst(run, HEARTBEATS)
  const elapsed = Number(process.hrtime.bigint() - t0)
  const cpu = cpuUsage(cpu0)
  const server1 = run.target.serverCpuNs?.()
  const n = latencies.length
  const samples = Array.from(latencies)
  return {
    perSec: (n * 1e9) / elapsed,
    p50Ns: percentile(samples, 50),
    p99Ns: percentile(samples, 99),
    benchCpuNs: ((cpu.user + cpu.system) * 1000) / n,
    serverCpuNs: server0 === undefined || server1 === undefined ? undefined : (server1 - server0) / n,
  }
}

function summarise(run: Running, baselinePerSec: number): ServerCaseResult {
  const pick = (f: (r: Round) => number): number => median(run.rounds.map(f))
  const perSec = pick((r) => r.perSec)
  const cpuNsPerOp = pick((r) => r.benchCpuNs)
  const server = run.target.serverCpuNs === undefined ? undefined : pick((r) => r.serverCpuNs!)
  return {
    name: run.deployment.name,
    nsPerOp: 1e9 / perSec,
    opsPerSec: perSec,
    cpuNsPerOp,
    speedVsBaseline: perSec / baselinePerSec,
    p50Ns: pick((r) => r.p50Ns),
    p99Ns: pick((r) => r.p99Ns),
    ...(server === undefined ? {} : { serverCpuNsPerOp: server }),
    totalCpuNsPerOp: cpuNsPerOp + (server ?? 0),
  }
}

function notesFor(mode: Deployment['mode'], roles: readonly Deployment['role'][], cases: readonly ServerCaseResult[]): string[] {
  const notes = [
    `${CLIENTS} concurrent loops, undici Pool (connections ${CLIENTS}, pipelining 1), ${HEARTBEATS.toLocaleString('en-US')} heartbeats per round, ${ROUNDS} rounds, medians`,
    'goal: >= 10,000 heartbeats/s',
  ]
  for (const c of cases) {
    // The server is one JavaScript thread: it cannot go faster than one core allows.
    const serverNs = mode === 'in-process' ? c.totalCpuNsPerOp : c.serverCpuNsPerOp!
    const what = mode === 'in-process' ? 'client + server on one thread' : 'server thread alone'
    notes.push(`${c.name}: CPU ceiling ~${Math.round(1e9 / serverNs).toLocaleString('en-US')}/s (${what}, ${formatNs(serverNs)} per heartbeat)`)
  }
  const pairs = [['server', 'baseline'], ['server', 'floor'], ['server-auth', 'baseline-auth'], ['server-auth', 'server']] as const
  for (const [mine, other] of pairs) {
    const [i, j] = [roles.indexOf(mine), roles.indexOf(other)]
    if (i < 0 || j < 0) continue
    const [a, b] = [cases[i]!, cases[j]!]
    const cpu = a.serverCpuNsPerOp === undefined ? '' : `, server CPU per heartbeat ${(a.serverCpuNsPerOp / b.serverCpuNsPerOp!).toFixed(2)}x`
    notes.push(`${a.name} / ${b.name}: throughput ${(a.opsPerSec / b.opsPerSec).toFixed(2)}x, total CPU per heartbeat ${(a.totalCpuNsPerOp / b.totalCpuNsPerOp).toFixed(2)}x${cpu}`)
  }
  return notes
}

function printServerComparison(result: ComparisonResult): void {
  console.log(`\n## ${result.title}  (ratios vs ${result.baseline})`)
  const header = ['case', 'heartbeats/s', 'p50', 'p99', 'bench cpu/hb', 'server cpu/hb', 'total cpu/hb', 'vs baseline']
  const rows = (result.cases as readonly ServerCaseResult[]).map((c) => [
    c.name,
    Math.round(c.opsPerSec).toLocaleString('en-US'),
    formatNs(c.p50Ns),
    formatNs(c.p99Ns),
    formatNs(c.cpuNsPerOp),
    c.serverCpuNsPerOp === undefined ? '(in bench)' : formatNs(c.serverCpuNsPerOp),
    formatNs(c.totalCpuNsPerOp),
    `${c.speedVsBaseline.toFixed(2)}x`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: readonly string[]): string => r.map((v, i) => v.padEnd(widths[i]!)).join('  ')
  console.log(line(header))
  for (const r of rows) console.log(line(r))
  for (const n of result.notes ?? []) console.log(`  note: ${n}`)
}

function deployments(): Deployment[] {
  const current = join(root, 'src', 'server')
  const baseline = process.env['BENCH_SERVER_BASELINE']
  const list: Deployment[] = []
  for (const [make, mode] of [[inProcess, 'in-process'], [childProcess, 'child process']] as const) {
    if (baseline) list.push(make(`${mode} (baseline)`, 'baseline', resolve(baseline)))
    list.push(make(mode, 'server', current))
  }
  // Auth on: what checking a bearer token adds to each heartbeat.
  if (baseline) list.push(childProcess('child process, token (baseline)', 'baseline-auth', resolve(baseline), BENCH_TOKEN))
  list.push(childProcess('child process, token', 'server-auth', current, BENCH_TOKEN))
  list.push(floor)
  return list
}

/** Every deployment runs in every round, the order rotated, so drift hits all alike. */
async function runRounds(runs: readonly Running[]): Promise<void> {
  for (const run of runs) await burst(run, HEARTBEATS / 4) // warm-up: JIT, and every connection open
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < runs.length; i++) {
      const run = runs[(i + round) % runs.length]!
      run.rounds.push(await measure(run))
    }
  }
}

function results(runs: readonly Running[]): ComparisonResult[] {
  const out: ComparisonResult[] = []
  for (const mode of ['in-process', 'child process'] as const) {
    const mine = runs.filter((r) => r.deployment.mode === mode)
    const base = median(mine[0]!.rounds.map((r) => r.perSec))
    const cases = mine.map((r) => summarise(r, base))
    out.push({
      title: `reference server heartbeats, ${mode}, ${CLIENTS} concurrent clients`,
      baseline: cases[0]!.name,
      cases,
      notes: notesFor(mode, mine.map((r) => r.deployment.role), cases),
    })
  }
  return out
}

const suite: BenchSuite = async () => {
  const load = await runLoadCases()
  if (process.env['BENCH_SERVER_LOAD_ONLY'] === '1') return load
  const runs: Running[] = []
  try {
    for (const d of deployments()) runs.push(await prepare(d))
    await runRounds(runs)
    const out = results(runs)
    out.forEach(printServerComparison)
    return [...load, ...out]
  } finally {
    for (const run of runs) {
      await run.pool.close()
      await run.target.close()
    }
  }
}

export default suite
