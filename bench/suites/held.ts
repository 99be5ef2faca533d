/**
 * Held watches against unary calls (issue 11): heartbeat latency with 1,000 watches held
 * by the same backend vs none, for the http backend (per-resource blocking queries on the
 * reference server) and the etcd backend (single-member etcd); and the TCP connections one
 * etcd backend holds while watching 1, 100 and 1,000 services. The two heartbeat cases of
 * each comparison alternate in rounds, so the ratio is from one run.
 */
import type { Backend, Watcher } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createGovernanceServer } from '../../src/server/index.js'
import type { InstanceSpec, Lease } from '../../src/types.js'
import { etcdBinary, startEtcdCluster } from '../../test/helpers/etcd-cluster.js'
import { establishedTo } from '../../test/helpers/tcp-connections.js'
import { percentile, printComparison, type BenchSuite, type CaseResult, type ComparisonResult } from '../lib.js'

const WATCHES = 1_000
const ROUNDS = 6
const BEATS_PER_ROUND = 100

const quiet: Watcher<unknown> = { next: () => undefined, error: () => undefined }

function instance(service: string, id: string): InstanceSpec {
  return { id, service, address: '127.0.0.1', port: 8080, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 60_000 }
}

/** Half config keys, half services, all held by `backend`; resolves once each answered once. */
async function holdWatches(backend: Backend, tag: string): Promise<() => void> {
  const stops: (() => void)[] = []
  let started = 0
  await new Promise<void>((resolve) => {
    const ready = (): void => void (++started === WATCHES && resolve())
    const once = (): Watcher<unknown> => {
      let seen = false
      return { next: () => (seen ? undefined : ((seen = true), ready())), error: quiet.error }
    }
    for (let i = 0; i < WATCHES / 2; i++) {
      stops.push(backend.watchConfig!(`${tag}.key-${i}`, once() as Watcher<never>))
      stops.push(backend.watchService!(`${tag}-svc-${i}`, once() as Watcher<never>))
    }
  })
  return () => stops.forEach((s) => s())
}

/** Renew latency samples (ns) of two backends, alternating rounds. */
async function heartbeats(cases: readonly { name: string; backend: Backend; lease: Lease }[]): Promise<Map<string, number[]>> {
  const samples = new Map(cases.map((c) => [c.name, [] as number[]]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of round % 2 === 0 ? cases : [...cases].reverse()) {
      for (let i = 0; i < BEATS_PER_ROUND; i++) {
        const t0 = process.hrtime.bigint()
        await c.backend.renew(c.lease, { timeoutMs: 5_000 })
        samples.get(c.name)!.push(Number(process.hrtime.bigint() - t0))
      }
    }
  }
  return samples
}

function latencyResult(title: string, samples: Map<string, number[]>): ComparisonResult {
  const names = [...samples.keys()]
  const p = (name: string, q: number): number => percentile(samples.get(name)!, q)
  const base = p(names[0]!, 50)
  const cases: CaseResult[] = names.map((name) => ({ name, nsPerOp: p(name, 50), opsPerSec: 1e9 / p(name, 50), cpuNsPerOp: 0, speedVsBaseline: base / p(name, 50) }))
  const notes = names.map((n) => `${n}: p50 ${(p(n, 50) / 1e6).toFixed(3)} ms, p99 ${(p(n, 99) / 1e6).toFixed(3)} ms over ${samples.get(n)!.length} heartbeats`)
  notes.push(`p99 ratio held / none = ${(p(names[1]!, 99) / p(names[0]!, 99)).toFixed(2)}x (goal <= 1.2x)`)
  return { title, baseline: names[0]!, cases, notes }
}

async function httpHeartbeats(): Promise<ComparisonResult> {
  const server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  // Per-resource blocking queries; the multiplexed watch has its own suite (watch-mux).
  const idle = httpBackend({ server: server.url, watchMux: false })
  const busy = httpBackend({ server: server.url, watchMux: false })
  try {
    const stop = await holdWatches(busy, 'held')
    const cases = [
      { name: 'http, no watches', backend: idle, lease: await idle.register(instance('beat', 'idle'), {}) },
      { name: `http, ${WATCHES} watches held`, backend: busy, lease: await busy.register(instance('beat', 'busy'), {}) },
    ]
    const result = latencyResult(`heartbeat (renew) latency, reference server, ${WATCHES} per-resource watches vs none (median/op = p50)`, await heartbeats(cases))
    stop()
    return result
  } finally {
    await Promise.all([idle.close(), busy.close()])
    await server.close()
  }
}

async function etcdHeartbeatsAndConnections(): Promise<ComparisonResult[]> {
  const cluster = await startEtcdCluster({ size: 1 })
  const port = Number(new URL(cluster.endpoints[0]!).port)
  const make = (): Backend => etcdBackend({ endpoints: cluster.endpoints, logger: silentLogger })
  const backends: Backend[] = []
  try {
    const idle = make()
    const busy = make()
    backends.push(idle, busy)
    const stop = await holdWatches(busy, 'held')
    const cases = [
      { name: 'etcd, no watches', backend: idle, lease: await idle.register(instance('beat', 'idle'), {}) },
      { name: `etcd, ${WATCHES} watches held`, backend: busy, lease: await busy.register(instance('beat', 'busy'), {}) },
    ]
    const latency = latencyResult(`heartbeat (keepalive) latency, etcd, ${WATCHES} watches vs none (median/op = p50)`, await heartbeats(cases))
    stop()
    const notes: string[] = []
    for (const count of [1, 100, 1_000]) {
      const baseline = establishedTo([port])
      const watcher = make()
      backends.push(watcher)
      await new Promise<void>((resolve) => {
        let ready = 0
        for (let i = 0; i < count; i++) {
          watcher.watchService!(`conn-${count}-svc-${i}`, { next: () => void (++ready === count && resolve()), error: () => undefined })
        }
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      notes.push(`${count} watched services: ${establishedTo([port]) - baseline} TCP connections held by the backend (unary pool included)`)
      await watcher.close()
    }
    return [latency, { title: 'connections held by one etcd backend', baseline: 'n/a', cases: [], notes }]
  } finally {
    await Promise.all(backends.map((b) => b.close()))
    await cluster.stop()
  }
}

const suite: BenchSuite = async () => {
  const results: ComparisonResult[] = [await httpHeartbeats()]
  if (etcdBinary() === undefined) console.log('  etcd is not installed (apt-get install etcd-server): etcd cases skipped')
  else results.push(...(await etcdHeartbeatsAndConnections()))
  for (const r of results) printComparison(r)
  return results
}

export default suite
