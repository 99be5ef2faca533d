/**
 * Discovery bench:
 * 1. cached discover() against a bare `await lruCache.get()` (goal: ratio >= 0.5);
 * 2. pick throughput, synchronous on a warm cache (goal: >= 20 M picks/s);
 * 3. a fresh options literal per call (`{ status: 'any' }`, `{ strategy: … }`) against the same
 *    call without options, and against the same options object reused (goal: within 2x the time);
 * 4. change-to-cache latency against the reference server on loopback (goal: p99 <= 20 ms),
 *    from sending the change (a register PUT) until the cache holds it, so the PUT's own
 *    round trip is included: an upper bound of the server-to-cache latency.
 */
import { cpuUsage } from 'node:process'
import { LRUCache } from 'lru-cache'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { leastRequest } from '../../src/balancer/index.js'
import { createDiscovery, resolveDiscoveryOptions, type Discovery } from '../../src/discovery/index.js'
import type { GovernanceEvents } from '../../src/events.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { Instance } from '../../src/types.js'
import { compare, formatNs, percentile, printComparison, type BenchSuite, type ComparisonResult } from '../lib.js'

function memoryDiscovery(instances: number): { discovery: Discovery; close: () => Promise<void> } {
  const backend = createMemoryBackend()
  for (let i = 0; i < instances; i++) {
    backend.addInstance({ service: 'payments', id: `p${i}`, address: '10.0.0.1', port: 8000 + i, weight: 1 + (i % 3) })
  }
  const discovery = createDiscovery(resolveDiscoveryOptions({}), {
    backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000,
  })
  return { discovery, close: () => discovery.close() }
}

/** Keeps results alive so the JIT cannot drop the work. */
let sink: unknown

async function cachedLookup(): Promise<ComparisonResult> {
  const { discovery, close } = memoryDiscovery(8)
  const warm = await discovery.discover('payments')
  const lru = new LRUCache<string, readonly Instance[]>({ max: 1_000 })
  for (let i = 0; i < 100; i++) lru.set(`svc-${i}`, [...warm])
  lru.set('payments', [...warm])
  const result = await compare(
    'cached lookup: await discover() vs bare await lruCache.get()',
    [
      {
        name: 'await lruCache.get()',
        run: async (n) => {
          for (let i = 0; i < n; i++) sink = await lru.get('payments')
        },
      },
      {
        name: 'await gov.discover()',
        run: async (n) => {
          for (let i = 0; i < n; i++) sink = await discovery.discover('payments')
        },
      },
    ],
    { iterations: 500_000, rounds: 9 },
  )
  await close()
  return { ...result, notes: [`ratio discover/lru (goal >= 0.5): ${result.cases[1]!.speedVsBaseline.toFixed(2)}`] }
}

async function pickThroughput(): Promise<ComparisonResult> {
  const { discovery, close } = memoryDiscovery(8)
  await discovery.discover('payments')
  const map = new Map([['payments', await discovery.discover('payments')]])
  const weightedOptions = { strategy: 'weighted' as const }
  const leastOptions = { strategy: leastRequest() }
  let k = 0
  const result = await compare(
    'pick throughput (warm cache, synchronous)',
    [
      {
        name: 'Map.get + index (floor)',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = map.get('payments')![k++ & 7]
        },
      },
      {
        name: 'pickSync() round-robin',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments')
        },
      },
      {
        name: 'pickSync() weighted (reused options)',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments', weightedOptions)
        },
      },
      {
        name: 'pickSync() least-request (reused options)',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments', leastOptions)
        },
      },
      {
        name: 'await pick() round-robin',
        run: async (n) => {
          for (let i = 0; i < n; i++) sink = await discovery.pick('payments')
        },
      },
    ],
    { iterations: 1_000_000, rounds: 7 },
  )
  await close()
  const rr = result.cases[1]!
  return { ...result, notes: [`pickSync round-robin: ${(rr.opsPerSec / 1e6).toFixed(1)} M picks/s (goal >= 20 M/s)`] }
}

/** Users write literals: a new options object on every call, with the same content. */
async function freshLiterals(): Promise<ComparisonResult[]> {
  const { discovery, close } = memoryDiscovery(8)
  await discovery.discover('payments')
  const discoverResult = await compare(
    'discover() with a fresh options literal vs without options',
    [
      {
        name: 'await discover()',
        run: async (n) => {
          for (let i = 0; i < n; i++) sink = await discovery.discover('payments')
        },
      },
      {
        name: "await discover(svc, { status: 'any' })",
        run: async (n) => {
          for (let i = 0; i < n; i++) sink = await discovery.discover('payments', { status: 'any' })
        },
      },
    ],
    { iterations: 300_000, rounds: 7 },
  )
  const weighted = { strategy: 'weighted' as const }
  const pickResult = await compare(
    'pickSync() with a fresh options literal vs without options',
    [
      {
        name: 'pickSync()',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments')
        },
      },
      {
        name: "pickSync(svc, { strategy: 'round-robin' })",
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments', { strategy: 'round-robin' })
        },
      },
      {
        name: 'pickSync(svc, weighted) reused object',
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments', weighted)
        },
      },
      {
        name: "pickSync(svc, { strategy: 'weighted' })",
        run: (n) => {
          for (let i = 0; i < n; i++) sink = discovery.pickSync('payments', { strategy: 'weighted' })
        },
      },
    ],
    { iterations: 500_000, rounds: 7 },
  )
  await close()
  const ratio = (r: ComparisonResult, a: number, b: number) => (r.cases[a]!.nsPerOp / r.cases[b]!.nsPerOp).toFixed(2)
  return [
    { ...discoverResult, notes: [`time with a fresh literal / without options (goal <= 2): ${ratio(discoverResult, 1, 0)}`] },
    {
      ...pickResult,
      notes: [
        `time with a fresh round-robin literal / without options, same balancer (goal <= 2): ${ratio(pickResult, 1, 0)}`,
        `time with a fresh weighted literal / the same options object reused (goal <= 2): ${ratio(pickResult, 3, 2)}`,
        `time with a fresh weighted literal / without options (round-robin; the balancer differs): ${ratio(pickResult, 3, 0)}`,
      ],
    },
  ]
}

const spec = (id: string) => ({ id, service: 'payments', address: '10.0.0.9', port: 9000, status: 'UP' as const, metadata: {}, tags: [], weight: 1, ttlMs: 60_000 })

/** Registers or removes one instance and resolves, with the elapsed ms, once the cache has the change. */
async function oneChange(discovery: Discovery, admin: Backend, id: string, listen: (fn: (p: GovernanceEvents['discovery:changed']) => void) => void): Promise<number> {
  const present = discovery.pickSync('payments', { filter: (x) => x.id === id }) !== undefined
  const arrived = new Promise<void>((resolve) =>
    listen((p) => {
      if ((!present && p.diff.added.some((x) => x.id === id)) || (present && p.diff.removed.some((x) => x.id === id))) resolve()
    }),
  )
  const t0 = performance.now()
  if (present) await admin.deregister({ id, service: 'payments', instanceId: id, ttlMs: 60_000 }, {})
  else await admin.register(spec(id), {})
  await arrived
  return performance.now() - t0
}

async function changeToCache(): Promise<ComparisonResult> {
  const server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  const admin = httpBackend({ server: server.url })
  const backend = httpBackend({ server: server.url })
  let onChange: ((p: GovernanceEvents['discovery:changed']) => void) | undefined
  const discovery = createDiscovery(resolveDiscoveryOptions({ minNotifyIntervalMs: 0, emptyProtection: false }), {
    backend,
    emit: (event, payload) => {
      if (event === 'discovery:changed') onChange?.(payload as GovernanceEvents['discovery:changed'])
    },
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 2_000,
  })
  await admin.register(spec('base'), {})
  await discovery.discover('payments')
  const samples: number[] = []
  const total = 520
  const cpu0 = cpuUsage()
  for (let i = 0; i < total; i++) {
    const ms = await oneChange(discovery, admin, `x${i % 2}`, (fn) => (onChange = fn))
    if (i >= 20) samples.push(ms) // the first 20 warm up connections and the JIT
  }
  const cpu = cpuUsage(cpu0)
  await discovery.close()
  await Promise.all([backend.close(), admin.close()])
  await server.close()
  return latencyResult(samples, ((cpu.user + cpu.system) * 1000) / total)
}

function latencyResult(samples: readonly number[], cpuNs: number): ComparisonResult {
  const p50 = percentile(samples, 50)
  const p99 = percentile(samples, 99)
  const row = (name: string, ms: number) => ({ name, nsPerOp: ms * 1e6, opsPerSec: 1e3 / ms, cpuNsPerOp: cpuNs, speedVsBaseline: p50 / ms })
  return {
    title: 'change-to-cache latency, reference server on loopback (PUT sent -> cache updated)',
    baseline: 'p50',
    cases: [row('p50', p50), row('p90', percentile(samples, 90)), row('p99', p99), row('max', Math.max(...samples))],
    notes: [
      `${samples.length} changes; p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (goal p99 <= 20 ms); ` +
        `client+server CPU ${formatNs(cpuNs)} per change (one process, 2 shared cores)`,
      'the "throughput" column is 1/latency; includes the PUT round trip',
    ],
  }
}

const suite: BenchSuite = async () => {
  const results = [await cachedLookup(), await pickThroughput(), ...(await freshLiterals()), await changeToCache()]
  for (const r of results) printComparison(r)
  void sink
  return results
}

export default suite
