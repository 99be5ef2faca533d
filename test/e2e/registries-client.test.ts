/**
 * The whole client (GovernanceClient: lease keeper, discovery cache, config) over the
 * Consul, Nacos and Eureka backends against their fakes: one service registers and
 * heartbeats, another discovers it and follows its config; a lost lease is re-registered
 * by the core; closing deregisters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { consulBackend } from '../../src/backends/consul/index.js'
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { GovernanceClient } from '../../src/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake, startEurekaFake, startNacosFake } from '../../src/testing/index.js'
import { eventually, uniqueName } from '../backends/watch-recorder.js'

interface Target {
  readonly name: string
  readonly config: boolean
  start(): Promise<{ url: string; close(): Promise<void> }>
  backend(url: string): Backend
  /** Makes the server forget the instance registered at 127.0.0.1:<port>. */
  lose(server: unknown, service: string, port: number): void
}

const targets: Target[] = [
  {
    name: 'consul',
    config: true,
    start: () => startConsulFake(),
    backend: (url) => consulBackend({ url, blockingWaitMs: 5_000, logger: silentLogger }),
    // A fresh agent: every service and check is gone.
    lose: (s) => (s as Awaited<ReturnType<typeof startConsulFake>>).wipe(),
  },
  {
    name: 'nacos',
    config: true,
    start: () => startNacosFake({ cacheMillis: 100 }),
    backend: (url) => nacosBackend({ url, logger: silentLogger }),
    lose: (s, service, port) => (s as Awaited<ReturnType<typeof startNacosFake>>).loseInstance('public', `DEFAULT_GROUP@@${service}`, '127.0.0.1', port),
  },
  {
    name: 'eureka',
    config: false,
    start: () => startEurekaFake(),
    backend: (url) => eurekaBackend({ url, registryFetchIntervalMs: 100, logger: silentLogger }),
    lose: (s) => (s as Awaited<ReturnType<typeof startEurekaFake>>).wipe(),
  },
]

describe.each(targets)('GovernanceClient over $name', (target) => {
  let server: Awaited<ReturnType<Target['start']>>
  const clients: GovernanceClient[] = []
  const make = (service: string, port: number): GovernanceClient => {
    const gov = new GovernanceClient({
      backend: target.backend(server.url),
      service: { name: service, port, address: '127.0.0.1' },
      heartbeatIntervalMs: 200,
      requestTimeoutMs: 2_000,
      logger: silentLogger,
      metrics: { processMetrics: false, flushIntervalMs: 60_000 },
    })
    clients.push(gov)
    return gov
  }
  beforeAll(async () => {
    server = await target.start()
  })
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await server?.close()
  })

  it('registers, is discovered, comes back after the server lost it, and leaves on close', async () => {
    const service = uniqueName(`e2e-${target.name}`)
    const provider = make(service, 7100)
    const consumer = make(uniqueName('consumer'), 7200)
    await provider.register()
    await eventually(async () => (await consumer.discover(service)).length === 1, 10_000, 'discovered')
    target.lose(server, service, 7100)
    // The heartbeat meets LeaseLostError and the core registers again.
    await eventually(async () => (await consumer.discover(service)).length === 1 && (await provider.backend.resolve(service, {})).instances.length === 1, 15_000, 're-registered')
    await provider.close()
    await eventually(async () => (await consumer.backend.resolve(service, {})).instances.length === 0, 10_000, 'deregistered')
  })

  it.runIf(target.config)('one client puts config, another follows it', async () => {
    const key = uniqueName('e2e-cfg')
    const writer = make(uniqueName('writer'), 7300)
    const reader = make(uniqueName('reader'), 7400)
    const seen: unknown[] = []
    const stop = reader.config.watch(key, (value) => void seen.push(value))
    try {
      await writer.config.put(key, { limit: 1 })
      await writer.config.put(key, { limit: 2 })
      await eventually(() => seen.some((v) => (v as { limit?: number } | undefined)?.limit === 2), 10_000, 'reader saw limit 2')
      expect((await reader.config.get(key))?.value).toEqual({ limit: 2 })
    } finally {
      stop()
    }
  })
})
