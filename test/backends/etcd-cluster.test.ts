/**
 * A 3-member etcd cluster loses its leader to SIGKILL while one backend watches a config
 * key, another keeps writing it, and a third holds a registration renewed the way the
 * client renews (every ttl/3, re-registering on LeaseLostError). The watcher must end on
 * the last written value without ever going backwards, and the registration must survive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { GovernanceClient } from '../../src/client.js'
import type { GovernanceClientCommonOptions } from '../../src/options.js'
import { LeaseLostError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import type { ConfigEntry, Lease } from '../../src/types.js'
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const available = etcdAvailable('the etcd cluster test')

/** Renews like the client core: every ttl/3; a lost lease means registering again. */
function keepRegistered(backend: Backend, lease: Lease, ttlMs: number): { stop(): void; readonly lease: Lease; readonly reRegistrations: number } {
  let current = lease
  let reRegistrations = 0
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    backend
      .renew(current, { timeoutMs: ttlMs / 3 })
      .catch(async (error: unknown) => {
        if (!(error instanceof LeaseLostError)) return // transient: the next tick tries again
        current = await backend.register(spec(current.service, current.instanceId, { ttlMs }), { timeoutMs: ttlMs / 3 })
        reRegistrations++
      })
      .catch(() => undefined)
      .finally(() => (busy = false))
  }, ttlMs / 3)
  return {
    stop: () => clearInterval(timer),
    get lease() {
      return current
    },
    get reRegistrations() {
      return reRegistrations
    },
  }
}

describe.skipIf(!available)('etcd: leader SIGKILL in a 3-member cluster', () => {
  let cluster: EtcdCluster
  const backends: Backend[] = []
  const make = (endpoints: readonly string[]): Backend => {
    const b = etcdBackend({ endpoints, logger: silentLogger, requestTimeoutMs: 2_000, watchBackoff: { minDelayMs: 20, maxDelayMs: 300 } })
    backends.push(b)
    return b
  }

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 3 })
  })
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()))
    await cluster?.stop()
  })

  it('the watcher ends on the last value, never goes backwards; the registration survives; deregister removes it', async () => {
    const leader = await cluster.leader()
    // Every backend starts at the leader, so the kill hits the watch stream, the writes and the keepalives.
    const endpoints = [leader.clientUrl, ...cluster.endpoints.filter((e) => e !== leader.clientUrl)]
    const watcher = make(endpoints)
    const writer = make(endpoints)
    const registrant = make(endpoints)
    const observer = make(endpoints.slice(1))
    const key = uniqueName('failover')
    const service = uniqueName('survivor')
    const ttlMs = 3_000

    const registration = keepRegistered(registrant, await registrant.register(spec(service, 'i-1', { ttlMs }), {}), ttlMs)
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stopWatch = watcher.watchConfig!(key, rec)
    await rec.until(() => true)

    let lastWritten = 0
    let writing = true
    let recoveredAt = 0
    let killedAt = 0
    const writes = (async () => {
      let n = 1
      while (writing) {
        try {
          await writer.putConfig!(key, n, {}, {})
          lastWritten = n
          if (killedAt !== 0 && recoveredAt === 0) recoveredAt = Date.now()
          n++
        } catch {
          await new Promise((r) => setTimeout(r, 20)) // the same n again: a failed write may or may not have landed
        }
      }
    })()

    await eventually(() => lastWritten >= 20, 10_000, '20 writes before the kill')
    killedAt = Date.now()
    await cluster.kill(leader, 'SIGKILL')
    await eventually(() => recoveredAt !== 0 && lastWritten >= 40, 20_000, 'writes succeeding again after the failover')
    writing = false
    await writes

    const last = await rec.until((v) => v?.value === lastWritten, 15_000)
    const seen = rec.values.map((r) => (r.value?.value as number | undefined) ?? 0)
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!)
    expect(seen.at(-1)).toBe(lastWritten)
    expect(last.meta.reset).toBe(false)
    stopWatch()

    // Two TTLs after the cluster recovered, the instance is still there.
    await eventually(() => Date.now() - recoveredAt >= 2 * ttlMs, 3 * ttlMs, 'two TTLs passed')
    const after = await observer.resolve(service, {})
    expect(after.instances.map((i) => i.id)).toEqual(['i-1'])

    registration.stop()
    await registrant.deregister(registration.lease, {})
    expect((await observer.resolve(service, {})).instances).toEqual([])
  }, 60_000)
})

describe.skipIf(!available)('etcd: leader SIGKILL in a 3-member cluster, through GovernanceClient', () => {
  let cluster: EtcdCluster
  const clients: GovernanceClient[] = []
  const client = (endpoints: readonly string[], extra: Partial<GovernanceClientCommonOptions> = {}): GovernanceClient => {
    const backend = etcdBackend({ endpoints, logger: silentLogger, requestTimeoutMs: 2_000, watchBackoff: { minDelayMs: 20, maxDelayMs: 300 } })
    const c = new GovernanceClient({ backend, logger: false, metrics: false, requestTimeoutMs: 2_000, ...extra })
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 3 })
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
  })

  it('the watching client ends on the last value, never goes backwards; the instance survives; close() removes it', async () => {
    const leader = await cluster.leader()
    const endpoints = [leader.clientUrl, ...cluster.endpoints.filter((e) => e !== leader.clientUrl)]
    const key = uniqueName('client-failover')
    const service = uniqueName('client-survivor')
    const ttlMs = 3_000
    const registrant = client(endpoints, {
      service: { name: service, port: 8080, address: '10.9.8.7', id: 'c-1' },
      heartbeatIntervalMs: 1_000,
      ttlMs,
      handleSignals: false,
    })
    const watcher = client(endpoints)
    const writer = client(endpoints)
    const observer = etcdBackend({ endpoints: endpoints.slice(1), logger: silentLogger })

    try {
      await registrant.register()
      const seen: number[] = []
      watcher.config.watch<number>(key, (value) => seen.push(value ?? 0))
      await eventually(() => seen.length > 0, 10_000, 'first config delivery')

      let lastWritten = 0
      let writing = true
      let recoveredAt = 0
      let killedAt = 0
      const writes = (async () => {
        let n = 1
        while (writing) {
          try {
            await writer.config.put(key, n)
            lastWritten = n
            if (killedAt !== 0 && recoveredAt === 0) recoveredAt = Date.now()
            n++
          } catch {
            await new Promise((r) => setTimeout(r, 20))
          }
        }
      })()
      await eventually(() => lastWritten >= 20, 10_000, '20 writes before the kill')
      killedAt = Date.now()
      await cluster.kill(leader, 'SIGKILL')
      await eventually(() => recoveredAt !== 0 && lastWritten >= 40, 20_000, 'writes succeeding again')
      writing = false
      await writes

      await eventually(() => seen.at(-1) === lastWritten, 15_000, `the watcher reaching ${lastWritten}`)
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!)

      await eventually(() => Date.now() - recoveredAt >= 2 * ttlMs, 3 * ttlMs, 'two TTLs passed')
      expect((await observer.resolve(service, {})).instances.map((i) => i.id)).toEqual(['c-1'])

      await registrant.close()
      expect((await observer.resolve(service, {})).instances).toEqual([])
    } finally {
      await observer.close()
    }
  }, 60_000)
})
