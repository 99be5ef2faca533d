/**
 * The multiplexed watch (protocol section 4.1) against the reference server in a child
 * process, one client (httpBackend) in this one:
 * - connections one client holds while watching 1, 100 and 1,000 services, with the
 *   multiplexed watch and with per-resource blocking queries (`watchMux: false`),
 *   counted at a TCP proxy in front of the server;
 * - change → watcher latency (p50/p99) with 1,000 watched resources on one connection;
 * - heartbeat (renew) latency p50/p99 on the same backend with 1,000 watches held on the
 *   stream vs none, with the same background churn of changes in both;
 * - change -> watcher latency and client CPU per change on a service of 10 and 1,000
 *   instances, blocking queries (full state per change) vs the stream (diffs).
 * BENCH_MUX_CHANGES (default 300) and BENCH_MUX_HEARTBEATS (default 2,400, in 8 alternating rounds) size the samples.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import type { Backend, Watcher } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import type { Lease, ServiceSnapshot } from '../../src/types.js'
import { startTcpProxy } from '../../test/helpers/tcp-proxy.js'
import { percentile, type BenchSuite, type ComparisonResult } from '../lib.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CHANGES = Number(process.env['BENCH_MUX_CHANGES'] ?? 300)
const HEARTBEATS = Number(process.env['BENCH_MUX_HEARTBEATS'] ?? 2_400)

async function childServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const found = /listening on (http:\/\/\S+)/.exec(out)
      if (found) resolve(found[1]!)
    })
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)))
  })
  return { url, stop: async () => void (child.kill('SIGTERM'), await once(child, 'exit')) }
}

const noop: Watcher<unknown> = { next: () => undefined, error: () => undefined }
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function put(url: string, path: string, body: unknown): Promise<void> {
  const res = await request(`${url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await res.body.text()
}
const instance = { address: '10.0.0.1', port: 80, ttlMs: 600_000 }

async function connectionsHeld(url: string): Promise<ComparisonResult> {
  const rows: string[] = []
  for (const count of [1, 100, 1_000]) {
    for (const mux of [true, false]) {
      const proxy = await startTcpProxy(url)
      const backend = httpBackend({ server: proxy.url, watchMux: mux })
      for (let i = 0; i < count; i++) backend.watchService!(`conn-${count}-${i}`, noop as Watcher<ServiceSnapshot>)
      await sleep(1_500)
      rows.push(`${String(count).padStart(5)} services, ${mux ? 'multiplexed watch' : 'blocking queries '}: ${proxy.connections} connections held`)
      await backend.close()
      await proxy.close()
    }
  }
  for (const row of rows) console.log(row)
  return { title: 'connections held by one client', baseline: '-', cases: [], notes: rows }
}

/** 1,000 watched services; each change registers an instance on one of them and times its delivery. */
async function changeLatency(url: string): Promise<ComparisonResult> {
  const backend = httpBackend({ server: url })
  const waiting = new Map<string, () => void>()
  let ready = 0
  for (let i = 0; i < 1_000; i++) {
    backend.watchService!(`lat-${i}`, {
      next: (snapshot) => {
        if (snapshot.instances.length === 0) ready++
        for (const inst of snapshot.instances) waiting.get(inst.id)?.()
      },
      error: () => undefined,
    })
  }
  while (ready < 1_000) await sleep(20)
  const ms: number[] = []
  for (let c = 0; c < CHANGES; c++) {
    const id = `change-${c}`
    const arrived = new Promise<void>((resolve) => waiting.set(id, resolve))
    const t0 = performance.now()
    await put(url, `/v1/services/lat-${(c * 7) % 1_000}/instances/${id}`, instance)
    await arrived
    ms.push(performance.now() - t0)
    waiting.delete(id)
  }
  await backend.close()
  const line = `change -> watcher with 1,000 watched services on one stream (${CHANGES} changes): p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms`
  console.log(line)
  return { title: 'change to watcher latency', baseline: '-', cases: [], notes: [line] }
}

async function renewLatency(backend: Backend, lease: Lease, count: number): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await backend.renew(lease, {})
    ms.push(performance.now() - t0)
  }
  return ms
}

/** Holds 1,000 watches on `backend`'s stream; resolves once every first state arrived. */
async function holdWatches(backend: Backend): Promise<() => void> {
  let ready = 0
  const stops = Array.from({ length: 1_000 }, (_, i) => backend.watchService!(`hb-${i}`, { next: () => void ready++, error: () => undefined }))
  while (ready < 1_000) await sleep(20)
  return () => stops.forEach((stop) => stop())
}

/**
 * Heartbeats of one backend with 1,000 watches held on its stream vs none, in alternating
 * rounds (none/held, held/none, …) with the same background churn of changes to the
 * watched services in both, so the difference is what holding the watches costs.
 */
async function heartbeatLatency(url: string): Promise<ComparisonResult> {
  const rounds = 8
  const samples = { none: [] as number[], held: [] as number[] }
  const backend = httpBackend({ server: url })
  const spec = { service: 'hb-self', id: 'self', ...instance, status: 'UP' as const, metadata: {}, tags: [], weight: 1 }
  const lease = await backend.register(spec, {})
  let churn = true
  const churning = (async () => {
    for (let c = 0; churn; c++) {
      await put(url, `/v1/services/hb-${c % 1_000}/instances/churn-${c % 50}`, { ...instance, port: 1 + (c % 1000) })
      await sleep(20)
    }
  })()
  for (let r = 0; r < rounds; r++) {
    for (const held of r % 2 === 0 ? [false, true] : [true, false]) {
      const release = held ? await holdWatches(backend) : () => undefined
      samples[held ? 'held' : 'none'].push(...(await renewLatency(backend, lease, HEARTBEATS / rounds)))
      release()
    }
  }
  churn = false
  await churning
  await backend.close()
  const p = (xs: number[], q: number): string => percentile(xs, q).toFixed(2)
  const ratio = percentile(samples.held, 99) / percentile(samples.none, 99)
  const notes = [
    `heartbeat, no watches: p50 ${p(samples.none, 50)} ms, p99 ${p(samples.none, 99)} ms (${samples.none.length} renews)`,
    `heartbeat, 1,000 watches on the stream: p50 ${p(samples.held, 50)} ms, p99 ${p(samples.held, 99)} ms (${samples.held.length} renews)`,
    `p99 ratio held/none: ${ratio.toFixed(2)}x (goal <= 1.2x)`,
  ]
  for (const n of notes) console.log(n)
  return { title: 'heartbeat latency with watches held', baseline: 'no watches', cases: [], notes }
}

/** Change -> watcher on one service of `size` instances: the blocking query re-decodes them all, the stream sends the diff. */
async function sizeScaling(url: string): Promise<ComparisonResult> {
  const notes: string[] = []
  for (const size of [10, 1_000]) {
    const service = `size-${size}`
    for (let i = 0; i < size; i++) await put(url, `/v1/services/${service}/instances/base-${i}`, instance)
    for (const mux of [false, true]) {
      const backend = httpBackend({ server: url, watchMux: mux })
      let onNext: ((snapshot: ServiceSnapshot) => void) | undefined
      let first = true
      const initial = new Promise<void>((resolve) =>
        backend.watchService!(service, {
          next: (snapshot) => (first ? ((first = false), resolve()) : onNext?.(snapshot)),
          error: () => undefined,
        }),
      )
      await initial
      const ms: number[] = []
      const cpu0 = process.cpuUsage()
      for (let c = 0; c < 100; c++) {
        const port = 1 + ((c + (mux ? 500 : 0)) % 60_000)
        const arrived = new Promise<void>((resolve) => (onNext = (s) => s.instances.some((i) => i.port === port) && resolve()))
        const t0 = performance.now()
        await put(url, `/v1/services/${service}/instances/base-0`, { ...instance, port })
        await arrived
        ms.push(performance.now() - t0)
      }
      const cpu = process.cpuUsage(cpu0)
      await backend.close()
      const cpuMs = (cpu.user + cpu.system) / 1000 / 100
      notes.push(`${String(size).padStart(5)} instances, ${mux ? 'multiplexed (diffs)' : 'blocking queries  '}: change -> watcher p50 ${percentile(ms, 50).toFixed(2)} ms, p99 ${percentile(ms, 99).toFixed(2)} ms, client CPU ${cpuMs.toFixed(2)} ms per change`)
    }
  }
  for (const n of notes) console.log(n)
  return { title: 'cost per change vs service size', baseline: '-', cases: [], notes }
}

const suite: BenchSuite = async () => {
  const server = await childServer()
  try {
    return [await connectionsHeld(server.url), await changeLatency(server.url), await heartbeatLatency(server.url), await sizeScaling(server.url)]
  } finally {
    await server.stop()
  }
}
export default suite
