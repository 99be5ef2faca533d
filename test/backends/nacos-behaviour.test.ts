/** The behaviour suite against the Nacos fake (startNacosFake, real HTTP on loopback, auth on). */
import { nacosBackend } from '../../src/backends/nacos/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startNacosFake } from '../../src/testing/nacos-fake/index.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'nacos',
  capabilities: { deregister: true, ttl: true, compareAndSet: true },
  async setup() {
    const nacos = await startNacosFake({ users: { nacos: 'secret' }, cacheMillis: 100, healthCheckIntervalMs: 50, maxHoldMs: 2_000 })
    const dead = await startNacosFake()
    dead.faults.down = true
    const common = { logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 300 } }
    return {
      create: () => nacosBackend({ url: nacos.url, username: 'nacos', password: 'secret', namespace: 'behaviour', ...common }),
      createUnreachable: () => nacosBackend({ url: dead.url, ...common }),
      async loseLease(lease) {
        const [ip, port] = [lease.id.slice(0, lease.id.lastIndexOf(':')), Number(lease.id.slice(lease.id.lastIndexOf(':') + 1))]
        nacos.loseInstance('behaviour', `DEFAULT_GROUP@@${lease.service}`, ip, port)
      },
      shortTtlMs: 1_000,
      async close() {
        await Promise.all([nacos.close(), dead.close()])
      },
    }
  },
})
