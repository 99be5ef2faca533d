/**
 * startEurekaFake(): a Eureka server in process, over real HTTP on 127.0.0.1, built from
 * Eureka's REST operations and source and checked against the official `eureka-js-client`.
 * See docs/backends/eureka.md.
 */
import { startFakeHttp, type FakeFaults } from '../registry-fakes/fake-http.js'
import { FakeEurekaRegistry } from './registry.js'
import { routeEureka } from './routes.js'

export interface EurekaFakeOptions {
  /** Path in front of `/apps`. Default `/eureka` (Spring Cloud); the Netflix WAR uses `/eureka/v2`. */
  readonly basePath?: string
  /** How often the eviction task drops leases not renewed in time. Eureka's: 60,000 ms. Default 1,000. */
  readonly evictionIntervalMs?: number
  /** How long changes stay in the delta queue. Eureka's: 180,000 ms (the default). */
  readonly deltaRetentionMs?: number
  /** Reads are served from a cache this old at most. Eureka's read-only cache: 30,000 ms. Default 0 (off). */
  readonly responseCacheMs?: number
}

export interface EurekaFake {
  /** `http://127.0.0.1:<port>/eureka` (with the base path): the server's URL. */
  readonly url: string
  readonly faults: FakeFaults
  /** The server forgets one instance without recording a delta (lease loss, another node). */
  loseInstance(app: string, instanceId: string): void
  /** A restart: every lease and the delta queue are gone. */
  wipe(): void
  /** Empties the response cache now. */
  wipeCache(): void
  requests(pathPrefix?: string): number
  close(): Promise<void>
}

/**
 * @example
 * const eureka = await startEurekaFake()
 * const backend = eurekaBackend({ url: eureka.url })
 */
export async function startEurekaFake(options: EurekaFakeOptions = {}): Promise<EurekaFake> {
  const registry = new FakeEurekaRegistry(options.deltaRetentionMs ?? 180_000)
  const basePath = (options.basePath ?? '/eureka').replace(/\/+$/, '')
  const state = { registry, basePath, responseCacheMs: options.responseCacheMs ?? 0, cache: new Map() }
  const http = await startFakeHttp((req) => routeEureka(state, req))
  const eviction = setInterval(() => registry.evict(Date.now()), options.evictionIntervalMs ?? 1_000)
  eviction.unref()
  return {
    url: `${http.url}${basePath}`,
    faults: http.faults,
    loseInstance(app, instanceId) {
      const instances = registry.apps.get(app.toUpperCase())
      instances?.delete(instanceId)
      if (instances?.size === 0) registry.apps.delete(app.toUpperCase())
    },
    wipe: () => registry.clear(),
    wipeCache: () => state.cache.clear(),
    requests: (prefix) => http.requests(prefix === undefined ? undefined : `${basePath}${prefix}`),
    async close() {
      clearInterval(eviction)
      await http.close()
    },
  }
}
