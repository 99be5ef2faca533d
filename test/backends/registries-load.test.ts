/**
 * The three registry backends under production-like load against their fakes: hundreds of
 * instances, a hundred watches, a frozen server (accepts, never answers) and a server that
 * comes back. Counts are checked, never timings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { GovernanceError, TimeoutError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake, startEurekaFake, startNacosFake } from '../../src/testing/index.js'
import type { FakeFaults } from '../../src/testing/index.js'
import type { ServiceSnapshot } from '../../src/types.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

interface Target {
  readonly name: string
  start(): Promise<{ url: string; faults: FakeFaults; close(): Promise<void> }>
  /** `requestTimeoutMs` short for the frozen-server test, the default otherwise. */
  backend(url: string, requestTimeoutMs?: number): Backend
}

const backoff = { minDelayMs: 50, maxDelayMs: 300 }
const targets: Target[] = [
  { name: 'consul', start: () => startConsulFake(), backend: (url, requestTimeoutMs) => consulBackend({ url, blockingWaitMs: 2_000, requestTimeoutMs, logger: silentLogger, watchBackoff: backoff }) },
  { name: 'nacos', start: () => startNacosFake({ cacheMillis: 100 }), backend: (url, requestTimeoutMs) => nacosBackend({ url, requestTimeoutMs, logger: silentLogger, watchBackoff: backoff }) },
  { name: 'eureka', start: () => startEurekaFake(), backend: (url, requestTimeoutMs) => eurekaBackend({ url, registryFetchIntervalMs: 100, requestTimeoutMs, logger: silentLogger, watchBackoff: backoff }) },
]

const SERVICES = 20
const PER_SERVICE = 15
const WATCHES_PER_SERVICE = 5

describe.each(targets)('$name under load', (target) => {
  let server: Awaited<ReturnType<Target['start']>>
  let writer: Backend
  let reader: Backend
  beforeAll(async () => {
    server = await target.start()
    writer = target.backend(server.url)
    reader = target.backend(server.url)
  })
  afterAll(async () => {
    await Promise.allSettled([writer?.close(), reader?.close()])
    await server?.close()
  })

  it(`${SERVICES * WATCHES_PER_SERVICE} watches see ${SERVICES * PER_SERVICE} registrations, then deregistrations`, async () => {
    const services = Array.from({ length: SERVICES }, () => uniqueName(`load-${target.name}`))
    const recorders = services.flatMap((s) => Array.from({ length: WATCHES_PER_SERVICE }, () => ({ service: s, rec: new WatchRecorder<ServiceSnapshot>() })))
    const stops = recorders.map(({ service, rec }) => reader.watchService!(service, rec))
    try {
      await Promise.all(recorders.map(({ rec }) => rec.until(() => true, 15_000)))
      const leases = await Promise.all(
        services.flatMap((s) => Array.from({ length: PER_SERVICE }, (_, i) => writer.register(spec(s, `i-${i}`, { port: 9000 + i, ttlMs: 60_000 }), {}))),
      )
      await Promise.all(recorders.map(({ rec }) => rec.until((v) => v.instances.length === PER_SERVICE, 20_000)))
      await Promise.all(leases.filter((_, i) => i % PER_SERVICE === 0).map((l) => writer.deregister(l, {})))
      await Promise.all(recorders.map(({ rec }) => rec.until((v) => v.instances.length === PER_SERVICE - 1, 20_000, rec.values.length - 1)))
      expect(recorders.every(({ rec }) => rec.errors.length === 0)).toBe(true)
    } finally {
      stops.forEach((stop) => stop())
    }
  })

  it('a server that goes down: the watch reports errors, then catches up when it is back', async () => {
    const service = uniqueName('down')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = reader.watchService!(service, rec)
    try {
      await rec.until(() => true)
      server.faults.down = true
      await eventually(() => rec.errors.length > 0, 10_000, 'watch error while down')
      server.faults.down = false
      await writer.register(spec(service, 'i-1'), {})
      await rec.until((v) => v.instances.length === 1, 10_000)
    } finally {
      server.faults.clear()
      stop()
    }
  })

  it('a frozen server times calls out (retryable) and watches report it; they recover when it answers again', async () => {
    const service = uniqueName('frozen')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const quick = target.backend(server.url, 1_000)
    const stop = quick.watchService!(service, rec)
    try {
      await rec.until(() => true)
      // A request held by the frozen server ends at its own deadline (1 s here; Consul's
      // blocking reads wait × 1.0625 + 1 s), after which the watch reports and retries.
      server.faults.delayMs = 600_000
      const error = await quick.resolve(service, { timeoutMs: 300 }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TimeoutError)
      expect((error as GovernanceError).retryable).toBe(true)
      server.faults.delayMs = 0
      await writer.register(spec(service, 'i-1'), {})
      await rec.until((v) => v.instances.length === 1, 30_000)
    } finally {
      server.faults.clear()
      stop()
      await quick.close()
    }
  })
})
