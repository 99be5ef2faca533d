/** The behaviour suite against the Consul fake (startConsulFake, real HTTP on loopback). */
import { consulBackend } from '../../src/backends/consul/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake } from '../../src/testing/consul-fake/index.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'consul',
  capabilities: { deregister: true, ttl: true, compareAndSet: true },
  async setup() {
    const consul = await startConsulFake({ aclToken: 'behaviour-token' })
    const dead = await startConsulFake()
    dead.faults.down = true
    const backoff = { minDelayMs: 50, maxDelayMs: 300 }
    return {
      create: () => consulBackend({ url: consul.url, token: 'behaviour-token', blockingWaitMs: 5_000, logger: silentLogger, watchBackoff: backoff }),
      createUnreachable: () => consulBackend({ url: dead.url, logger: silentLogger, watchBackoff: backoff }),
      async loseLease(lease) {
        consul.loseService(lease.id)
      },
      shortTtlMs: 1_000,
      async close() {
        await Promise.all([consul.close(), dead.close()])
      },
    }
  },
})
