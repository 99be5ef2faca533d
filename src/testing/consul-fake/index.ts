/**
 * startConsulFake(): one Consul agent (and its catalog and KV store) in process, over real
 * HTTP on 127.0.0.1. Built from Consul's documented HTTP API and checked against the
 * official `consul` npm client; see docs/backends/consul.md for what it covers.
 */
import { ChangeWaiters, startFakeHttp, type FakeFaults } from '../registry-fakes/fake-http.js'
import { ConsulIndex, FakeCatalog } from './catalog.js'
import { FakeKv } from './kv.js'
import { routeConsul } from './routes.js'

export interface ConsulFakeOptions {
  /** When set, every request must carry this token (X-Consul-Token or Bearer): 403 otherwise. */
  readonly aclToken?: string
  /** Floor of DeregisterCriticalServiceAfter. Consul's is 60,000 ms; tests may lower it. */
  readonly minDeregisterCriticalMs?: number
  /** How often critical services are reaped. Consul's reaper runs every 30,000 ms. */
  readonly reapIntervalMs?: number
  /** Cap on a blocking query's `wait`. Consul's is 10 minutes. */
  readonly maxWaitMs?: number
}

export interface ConsulFake {
  /** `http://127.0.0.1:<port>`: the agent's address. */
  readonly url: string
  /** down / slow / error answers for the next requests. */
  readonly faults: FakeFaults
  /** The agent forgets a service and its checks (an agent restart without state): lease loss. */
  loseService(serviceId: string): void
  /** Every index goes down to `to` (a snapshot restore): blocking clients see it go backwards. */
  resetIndex(to?: number): void
  /** The agent forgets every service and KV entry (a fresh agent). */
  wipe(): void
  /** The current raft index. */
  readonly index: number
  /** Requests served so far whose path starts with `pathPrefix`. */
  requests(pathPrefix?: string): number
  close(): Promise<void>
}

/**
 * @example
 * const consul = await startConsulFake()
 * const backend = consulBackend({ url: consul.url })
 * consul.faults.down = true   // the agent stops answering
 * await consul.close()
 */
export async function startConsulFake(options: ConsulFakeOptions = {}): Promise<ConsulFake> {
  const index = new ConsulIndex()
  const waiters = new ChangeWaiters()
  const notify = (): void => waiters.notify()
  const catalog = new FakeCatalog(index, { minDeregisterCriticalMs: options.minDeregisterCriticalMs ?? 60_000, onChange: notify })
  const kv = new FakeKv(index, notify)
  const state = { catalog, kv, waiters, aclToken: options.aclToken, maxWaitMs: options.maxWaitMs ?? 10 * 60_000 }
  const http = await startFakeHttp((req) => routeConsul(state, req))
  const reaper = setInterval(() => catalog.reap(Date.now()), options.reapIntervalMs ?? 30_000)
  reaper.unref()
  return {
    url: http.url,
    faults: http.faults,
    get index() {
      return index.value
    },
    loseService(serviceId) {
      catalog.deregister(serviceId)
    },
    resetIndex(to = 1) {
      index.value = to
      catalog.lowerIndexes(to)
      kv.lowerIndexes(to)
      notify()
    },
    wipe() {
      catalog.clear()
      kv.entries.clear()
      index.bump()
      catalog.catalogIndex = index.value
      for (const name of catalog.serviceIndex.keys()) catalog.serviceIndex.set(name, index.value)
      kv.tableIndex = index.value
      notify()
    },
    requests: (prefix) => http.requests(prefix),
    async close() {
      clearInterval(reaper)
      catalog.clear()
      await http.close()
    },
  }
}
