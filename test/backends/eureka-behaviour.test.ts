/** The behaviour suite against the Eureka fake (startEurekaFake, real HTTP on loopback). Eureka stores no config. */
import { eurekaBackend } from '../../src/backends/eureka/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startEurekaFake } from '../../src/testing/eureka-fake/index.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'eureka',
  config: false,
  capabilities: { deregister: true, ttl: true, compareAndSet: false },
  async setup() {
    const eureka = await startEurekaFake({ evictionIntervalMs: 100 })
    const dead = await startEurekaFake()
    dead.faults.down = true
    const common = { registryFetchIntervalMs: 50, logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 300 } }
    return {
      create: () => eurekaBackend({ url: eureka.url, ...common }),
      createUnreachable: () => eurekaBackend({ url: dead.url, ...common }),
      async loseLease(lease) {
        eureka.loseInstance(lease.service, lease.instanceId)
      },
      shortTtlMs: 1_000,
      async close() {
        await Promise.all([eureka.close(), dead.close()])
      },
    }
  },
})
