/**
 * Change -> watcher latency against the Consul, Eureka and Nacos fakes, in one run:
 * our backend's watch against the official client's own subscription mechanism, both
 * watching the same thing while a third party makes one change at a time.
 * Goal: ours not slower at p50, and faster at p99 where the official client polls.
 * Polling intervals are set equal on both sides (200 ms) so the mechanisms are compared,
 * not their defaults (those are in docs/benchmarks.md).
 */
import Consul from 'consul'
import { Eureka } from 'eureka-js-client'
import { NacosConfigClient, NacosNamingClient } from 'nacos'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake, startEurekaFake, startNacosFake } from '../../src/testing/index.js'
import type { ConfigEntry, InstanceSpec, ServiceSnapshot } from '../../src/types.js'
import { percentile, printComparison, type BenchSuite, type CaseResult, type ComparisonResult } from '../lib.js'

const POLL_MS = 200
const quiet = { debug() {}, info() {}, warn() {}, error() {} }

/** One observer: reports each value number it sees. */
interface Observer {
  readonly name: string
  start(seen: (n: number) => void): Promise<void>
  stop(): Promise<void> | void
}

interface Run {
  readonly title: string
  readonly samples: number
  /** Up to this long (uniform) between changes, so changes do not lock to one side's poll phase. */
  readonly gapMs?: number
  change(n: number): Promise<void>
  readonly observers: readonly Observer[]
}

async function measure(run: Run): Promise<ComparisonResult> {
  const arrivals = run.observers.map(() => new Map<number, number>())
  await Promise.all(run.observers.map((o, i) => o.start((n) => void (arrivals[i]!.has(n) || arrivals[i]!.set(n, performance.now())))))
  const latencies = run.observers.map(() => [] as number[])
  let missed = 0
  try {
    for (let n = 1; n <= run.samples; n++) {
      const t0 = performance.now()
      await run.change(n)
      const deadline = t0 + 10_000
      while (arrivals.some((a) => !a.has(n)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1))
      arrivals.forEach((a, i) => (a.has(n) ? latencies[i]!.push(a.get(n)! - t0) : missed++))
      await new Promise((r) => setTimeout(r, Math.random() * (run.gapMs ?? 20)))
    }
  } finally {
    await Promise.all(run.observers.map((o) => o.stop()))
  }
  const base = percentile(latencies[0]!, 50)
  const cases: CaseResult[] = run.observers.map((o, i) => {
    const p50 = percentile(latencies[i]!, 50)
    return { name: o.name, nsPerOp: p50 * 1e6, opsPerSec: 1000 / p50, cpuNsPerOp: 0, speedVsBaseline: base / p50 }
  })
  const notes = run.observers.map((o, i) => `${o.name}: p50 ${percentile(latencies[i]!, 50).toFixed(2)} ms, p99 ${percentile(latencies[i]!, 99).toFixed(2)} ms, max ${Math.max(...latencies[i]!).toFixed(2)} ms (${latencies[i]!.length} samples)`)
  if (missed > 0) notes.push(`${missed} deliveries missed the 10 s deadline`)
  const result: ComparisonResult = { title: run.title, baseline: run.observers[0]!.name, cases, notes }
  printComparison(result)
  return result
}

function instance(service: string, n: number): InstanceSpec {
  return { id: `i${n}`, service, address: '10.0.0.1', port: 10_000 + n, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 60_000 }
}

const maxPort = (ports: readonly number[]): number => (ports.length === 0 ? 0 : Math.max(...ports) - 10_000)

async function consulRuns(): Promise<ComparisonResult[]> {
  const fake = await startConsulFake()
  const url = new URL(fake.url)
  const official = new Consul({ host: url.hostname, port: Number(url.port) })
  const writer = consulBackend({ url: fake.url, logger: silentLogger })
  const ours = consulBackend({ url: fake.url, logger: silentLogger })
  const officialWatch = (method: unknown, options: Record<string, unknown>, value: (data: unknown) => number): Observer => {
    let watch: ReturnType<Consul['watch']> | undefined
    return {
      name: 'official consul client watch()',
      start: async (seen) => {
        watch = official.watch({ method: method as never, options: { ...options, wait: '60s' } as never })
        watch.on('change', (data: unknown) => seen(value(data)))
      },
      stop: () => watch?.end(),
    }
  }
  try {
    const key = 'bench.latency'
    const config = await measure({
      title: 'consul KV: put -> watcher (blocking queries both)',
      samples: 200,
      change: async (n) => void (await writer.putConfig(key, { n }, {}, {})),
      observers: [
        { name: 'consulBackend watchConfig', start: async (seen) => void (stopOurs = ours.watchConfig(key, { next: (v: ConfigEntry | undefined) => seen((v?.value as { n?: number })?.n ?? 0), error: () => {} })), stop: () => stopOurs() },
        officialWatch(official.kv.get, { key: `governance/config/${key}` }, (d) => Number(JSON.parse(String((d as { Value?: string } | undefined)?.Value ?? '{"n":0}')).n)),
      ],
    })
    const service = 'bench-svc'
    const discovery = await measure({
      title: 'consul health: register -> watcher (blocking queries both)',
      samples: 200,
      change: async (n) => void (await writer.register(instance(service, n), {})),
      observers: [
        { name: 'consulBackend watchService', start: async (seen) => void (stopOurs = ours.watchService(service, { next: (s: ServiceSnapshot) => seen(maxPort(s.instances.map((i) => i.port))), error: () => {} })), stop: () => stopOurs() },
        officialWatch(official.health.service, { service, passing: true }, (d) => maxPort((d as { Service: { Port: number } }[]).map((e) => e.Service.Port))),
      ],
    })
    return [config, discovery]
  } finally {
    await Promise.all([writer.close(), ours.close()])
    await fake.close()
  }
}

let stopOurs: () => void = () => {}

async function eurekaRun(): Promise<ComparisonResult> {
  const fake = await startEurekaFake()
  const url = new URL(fake.url)
  const writer = eurekaBackend({ url: fake.url, logger: silentLogger })
  const ours = eurekaBackend({ url: fake.url, registryFetchIntervalMs: POLL_MS, logger: silentLogger })
  const service = 'bench-svc'
  const client = new Eureka({
    logger: quiet,
    shouldUseDelta: true,
    instance: { app: 'BENCH-WATCHER', hostName: 'w', ipAddr: '10.0.0.2', port: { $: 1, '@enabled': true }, vipAddress: 'w', dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' } },
    eureka: { host: url.hostname, port: Number(url.port), servicePath: '/eureka/apps/', registerWithEureka: false, registryFetchInterval: POLL_MS },
  })
  let poll: NodeJS.Timeout | undefined
  try {
    return await measure({
      title: `eureka: register -> watcher (both fetch deltas every ${POLL_MS} ms)`,
      samples: 80,
      gapMs: 2 * POLL_MS,
      change: async (n) => void (await writer.register(instance(service, n), {})),
      observers: [
        { name: 'eurekaBackend watchService', start: async (seen) => void (stopOurs = ours.watchService(service, { next: (s) => seen(maxPort(s.instances.map((i) => i.port))), error: () => {} })), stop: () => stopOurs() },
        {
          name: 'eureka-js-client cache (checked every 1 ms)',
          start: async (seen) => {
            await new Promise<void>((resolve) => client.start(() => resolve()))
            poll = setInterval(() => seen(maxPort(client.getInstancesByAppId('BENCH-SVC').map((i) => Number((i.port as { $: number }).$)))), 1)
          },
          stop: async () => {
            clearInterval(poll)
            await new Promise<void>((resolve) => client.stop(() => resolve()))
          },
        },
      ],
    })
  } finally {
    await Promise.all([writer.close(), ours.close()])
    await fake.close()
  }
}

async function nacosRuns(): Promise<ComparisonResult[]> {
  const fake = await startNacosFake({ cacheMillis: POLL_MS, maxHoldMs: 1_000 })
  const addr = new URL(fake.url).host
  const cacheDir = mkdtempSync(join(tmpdir(), 'nacos-bench-'))
  const writer = nacosBackend({ url: fake.url, logger: silentLogger })
  const ours = nacosBackend({ url: fake.url, logger: silentLogger })
  const naming = new NacosNamingClient({ logger: quiet, serverList: addr, namespace: 'public' } as never)
  const config = new NacosConfigClient({ serverAddr: addr, cacheDir } as never)
  // Both clients keep polling briefly after close(); their late errors are not the bench's.
  ;(config as unknown as { on(e: string, f: () => void): void }).on('error', () => {})
  ;(naming as unknown as { on(e: string, f: () => void): void }).on('error', () => {})
  await naming.ready()
  await config.ready()
  const service = 'bench-svc'
  const key = 'bench.latency'
  let stopConfig: () => void = () => {}
  const listener = (hosts: { port: number }[]) => nacosSeen(maxPort(hosts.map((h) => h.port)))
  let nacosSeen: (n: number) => void = () => {}
  let configSeen: (n: number) => void = () => {}
  const onConfig = (content: string) => configSeen(Number((JSON.parse(content || '{"n":0}') as { n: number }).n))
  try {
    const discovery = await measure({
      title: `nacos naming: register -> watcher (both poll the list every ${POLL_MS} ms, the server's cacheMillis)`,
      samples: 80,
      gapMs: 2 * POLL_MS,
      change: async (n) => void (await writer.register(instance(service, n), {})),
      observers: [
        { name: 'nacosBackend watchService', start: async (seen) => void (stopOurs = ours.watchService(service, { next: (s) => seen(maxPort(s.instances.map((i) => i.port))), error: () => {} })), stop: () => stopOurs() },
        { name: 'nacos-naming subscribe()', start: async (seen) => void ((nacosSeen = seen), naming.subscribe(service, listener)), stop: () => naming.unSubscribe(service, listener) },
      ],
    })
    const configs = await measure({
      title: 'nacos config: publish -> watcher (long-polling listener both)',
      samples: 100,
      change: async (n) => void (await writer.putConfig(key, { n }, {}, {})),
      observers: [
        { name: 'nacosBackend watchConfig', start: async (seen) => void (stopConfig = ours.watchConfig(key, { next: (v) => seen((v?.value as { n?: number } | undefined)?.n ?? 0), error: () => {} })), stop: () => stopConfig() },
        { name: 'nacos-config subscribe()', start: async (seen) => void ((configSeen = seen), config.subscribe({ dataId: key, group: 'DEFAULT_GROUP' }, onConfig)), stop: () => config.unSubscribe({ dataId: key, group: 'DEFAULT_GROUP' }, onConfig) },
      ],
    })
    return [discovery, configs]
  } finally {
    ;(naming as unknown as { close(): void }).close()
    config.close()
    // nacos-config's last long poll outlives close(); closing the server under it would
    // surface as an unhandled 'error' of its internal worker.
    await new Promise((r) => setTimeout(r, 1_200))
    await Promise.all([writer.close(), ours.close()])
    await fake.close()
    rmSync(cacheDir, { recursive: true, force: true })
  }
}

const only = process.env.BENCH_REGISTRIES
const suite: BenchSuite = async () => [
  ...(only === undefined || only === 'consul' ? await consulRuns() : []),
  ...(only === undefined || only === 'eureka' ? [await eurekaRun()] : []),
  ...(only === undefined || only === 'nacos' ? await nacosRuns() : []),
]

export default suite
