/** The behaviour suite against the msw fake of the seed's three Flask centers. */
import { seedBackend } from '../../src/backends/seed/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createSeedCenters, interceptNetwork } from '../helpers/seed-centers.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'seed',
  capabilities: { deregister: true, ttl: false, compareAndSet: false },
  singleInstance: true,
  configDeletes: false,
  async setup() {
    const centers = createSeedCenters()
    const down = createSeedCenters({ registry: 'http://registry.down.test', monitor: 'http://monitor.down.test', config: 'http://config.down.test' })
    for (const c of ['registry', 'monitor', 'config'] as const) down.setDown(c, true)
    const network = interceptNetwork([...centers.handlers, ...down.handlers])
    return {
      create: () => seedBackend({ ...centers.urls, pollIntervalMs: 50, logger: silentLogger }),
      createUnreachable: () => seedBackend({ ...down.urls, pollIntervalMs: 50, logger: silentLogger }),
      // The registry keeps everything in memory: a restart forgets every registration.
      async loseLease() {
        centers.registry.clear()
      },
      shortTtlMs: 1_000,
      close: () => network.close(),
    }
  },
})
