/** The behaviour suite against the reference server (protocol v1) through the http backend. */
import { httpBackend } from '../../src/backends/http/index.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { freePort } from '../helpers/etcd-cluster.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'http (reference server)',
  capabilities: { deregister: true, ttl: true, compareAndSet: true },
  async setup() {
    const server = await createGovernanceServer({ port: 0 })
    const unreachable = `http://127.0.0.1:${await freePort()}`
    return {
      create: () => httpBackend({ server: server.url, watchWaitMs: 5_000 }),
      createUnreachable: () => httpBackend({ server: unreachable }),
      // What an expiry does at the server, without waiting for one: the instance is gone.
      async loseLease(lease) {
        const res = await fetch(`${server.url}/v1/services/${lease.service}/instances/${lease.instanceId}`, { method: 'DELETE' })
        if (res.status !== 200) throw new Error(`DELETE answered ${res.status}`)
      },
      shortTtlMs: 1_000,
      close: () => server.close(),
    }
  },
})
