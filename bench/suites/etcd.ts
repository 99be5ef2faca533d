/**
 * The etcd backend (JSON gateway over undici) against the etcd3 npm client (gRPC), on the
 * same local single-member etcd started here: put→watch latency (p50/p99) and get
 * throughput, sequential and at concurrency 32. Cases alternate in rounds (lib.ts).
 * etcd, the bench process and both clients share the machine's cores: CPU per op is this
 * process's only (etcd's own work is not in it).
 */
import { Etcd3 } from 'etcd3'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import type { ConfigEntry } from '../../src/types.js'
import { etcdBinary, startEtcdCluster } from '../../test/helpers/etcd-cluster.js'
import { compare, median, percentile, printComparison, type BenchSuite, type CaseResult, type ComparisonResult } from '../lib.js'

const PREFIX = '/bench'
const ROUNDS = 7
const LATENCY_SAMPLES = 150

interface LatencyCase {
  readonly name: string
  /** One put, resolved when the watcher has seen it: the elapsed time is the sample. */
  readonly once: (n: number) => Promise<void>
}

/** A put and a promise for the watcher's delivery of exactly that value. */
function deliveryWaiter(): { expect(n: number): Promise<void>; seen(n: number): void } {
  let pending: { n: number; resolve: () => void } | undefined
  return {
    expect: (n) => new Promise<void>((resolve) => (pending = { n, resolve })),
    seen: (n) => {
      if (pending?.n === n) pending.resolve()
    },
  }
}

/** One backend watches, another writes, as two clients would. */
async function gatewayLatency(watcher: Backend, writer: Backend, key: string): Promise<{ case: LatencyCase; stop: () => void }> {
  const waiter = deliveryWaiter()
  let ready!: () => void
  const started = new Promise<void>((r) => (ready = r))
  const stop = watcher.watchConfig!(key, {
    next: (entry: ConfigEntry | undefined) => {
      ready()
      if (typeof entry?.value === 'number') waiter.seen(entry.value)
    },
    error: () => undefined,
  })
  await started
  return {
    stop,
    case: {
      name: 'etcdBackend (JSON gateway, undici)',
      once: async (n) => {
        const seen = waiter.expect(n)
        await writer.putConfig!(key, n, {}, {})
        await seen
      },
    },
  }
}

async function grpcLatency(client: Etcd3, key: string): Promise<{ case: LatencyCase; stop: () => Promise<void> }> {
  const waiter = deliveryWaiter()
  const watcher = await client.watch().key(key).create()
  watcher.on('put', (kv) => waiter.seen((JSON.parse(kv.value.toString()) as { value: number }).value))
  return {
    stop: () => watcher.cancel(),
    case: {
      name: 'etcd3 (gRPC)',
      once: async (n) => {
        const seen = waiter.expect(n)
        await client.put(key).value(JSON.stringify({ value: n }))
        await seen
      },
    },
  }
}

async function latencyComparison(cases: readonly LatencyCase[]): Promise<ComparisonResult> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  const cpu = new Map<string, number>(cases.map((c) => [c.name, 0]))
  let n = 0
  for (const c of cases) for (let i = 0; i < 30; i++) await c.once(++n) // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length]!
      const list = samples.get(c.name)!
      const cpu0 = process.cpuUsage()
      for (let s = 0; s < LATENCY_SAMPLES; s++) {
        const t0 = process.hrtime.bigint()
        await c.once(++n)
        list.push(Number(process.hrtime.bigint() - t0))
      }
      const used = process.cpuUsage(cpu0)
      cpu.set(c.name, cpu.get(c.name)! + (used.user + used.system) * 1000)
    }
  }
  const p50 = (name: string) => percentile(samples.get(name)!, 50)
  const base = p50(cases[0]!.name)
  const results: CaseResult[] = cases.map((c) => ({
    name: c.name,
    nsPerOp: p50(c.name),
    opsPerSec: 1e9 / p50(c.name),
    cpuNsPerOp: cpu.get(c.name)! / samples.get(c.name)!.length,
    speedVsBaseline: base / p50(c.name),
  }))
  const notes = cases.map((c) => {
    const s = samples.get(c.name)!
    return `${c.name}: p50 ${(percentile(s, 50) / 1e6).toFixed(3)} ms, p99 ${(percentile(s, 99) / 1e6).toFixed(3)} ms, median ${(median(s) / 1e6).toFixed(3)} ms over ${s.length} puts`
  })
  const ratio = p50(cases[1]!.name) / base
  notes.push(`p50 ratio gateway / gRPC = ${ratio.toFixed(3)}x (goal <= 1.2x); p99 ratio = ${(percentile(samples.get(cases[1]!.name)!, 99) / percentile(samples.get(cases[0]!.name)!, 99)).toFixed(3)}x`)
  return { title: 'put → watch delivery latency (median/op column = p50)', baseline: cases[0]!.name, cases: results, notes }
}

/** `n` gets spread over `concurrency` workers. */
async function parallel(n: number, concurrency: number, get: () => Promise<unknown>): Promise<void> {
  let left = n
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await get()
    }),
  )
}

/** Both read the same etcd key: the backend by its config name, etcd3 by the full key. */
async function getComparison(backends: readonly [string, Backend][], client: Etcd3, name: string, concurrency: number): Promise<ComparisonResult> {
  const grpcGet = async () => JSON.parse((await client.get(`${PREFIX}/config/${name}`).string()) ?? 'null') as unknown
  return compare(
    `get throughput, ${concurrency === 1 ? 'sequential' : `concurrency ${concurrency}`} (same key, JSON value decoded)`,
    [
      { name: 'etcd3 (gRPC)', run: (n) => parallel(n, concurrency, grpcGet) },
      ...backends.map(([label, backend]) => ({ name: label, run: (n: number) => parallel(n, concurrency, () => backend.getConfig(name, {})) })),
    ],
    { iterations: concurrency === 1 ? 500 : 2_000, rounds: ROUNDS },
  )
}

const suite: BenchSuite = async () => {
  if (etcdBinary() === undefined) {
    console.log('etcd is not installed (apt-get install etcd-server): etcd bench skipped')
    return []
  }
  // Default election timings here: the bench measures etcd as users run it.
  const cluster = await startEtcdCluster({ size: 1 })
  const endpoint = cluster.endpoints[0]!
  const watcherBackend = etcdBackend({ endpoints: [endpoint], prefix: PREFIX, logger: silentLogger })
  const writerBackend = etcdBackend({ endpoints: [endpoint], prefix: PREFIX, logger: silentLogger })
  const wideBackend = etcdBackend({ endpoints: [endpoint], prefix: PREFIX, logger: silentLogger, connections: 32 })
  const client = new Etcd3({ hosts: endpoint })
  const results: ComparisonResult[] = []
  try {
    const gw = await gatewayLatency(watcherBackend, writerBackend, 'latency-gw')
    const grpc = await grpcLatency(client, `${PREFIX}/config/latency-grpc`)
    results.push(await latencyComparison([grpc.case, gw.case]))
    gw.stop()
    await grpc.stop()
    await writerBackend.putConfig!('get-key', { limits: { rps: 100 }, flags: ['a', 'b'] }, {}, {})
    const gateway = 'etcdBackend (JSON gateway, undici)'
    results.push(await getComparison([[gateway, writerBackend]], client, 'get-key', 1))
    // HTTP/1.1 carries one call per connection: 16 (the default) queue half of 32 callers.
    results.push(await getComparison([[gateway, writerBackend], [`${gateway}, connections: 32`, wideBackend]], client, 'get-key', 32))
    for (const r of results) printComparison(r)
  } finally {
    client.close()
    await watcherBackend.close()
    await writerBackend.close()
    await wideBackend.close()
    await cluster.stop()
  }
  return results
}

export default suite
