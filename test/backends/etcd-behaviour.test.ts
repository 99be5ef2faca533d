/** The behaviour suite against a real etcd (one member on loopback, started here). */
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { etcdAvailable, etcdCall, freePort, startEtcdCluster } from '../helpers/etcd-cluster.js'
import { runBackendBehaviour } from './behaviour.js'

runBackendBehaviour({
  name: 'etcd',
  skip: !etcdAvailable('the etcd behaviour suite'),
  capabilities: { deregister: true, ttl: true, compareAndSet: true },
  async setup() {
    const cluster = await startEtcdCluster({ size: 1 })
    const unreachable = `http://127.0.0.1:${await freePort()}`
    const prefix = `/behaviour-${process.pid}`
    return {
      create: () => etcdBackend({ endpoints: cluster.endpoints, prefix, logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 500 } }),
      createUnreachable: () => etcdBackend({ endpoints: [unreachable], logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 200 } }),
      async loseLease(lease) {
        const answer = await etcdCall(cluster.endpoints[0]!, '/v3/lease/revoke', { ID: lease.id })
        if (answer.status !== 200) throw new Error(`revoke answered ${answer.status}`)
      },
      shortTtlMs: 1_000,
      close: () => cluster.stop(),
    }
  },
})
