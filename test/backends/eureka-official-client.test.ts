/**
 * Proof against a client no one here wrote: the official `eureka-js-client` registers,
 * heartbeats and fetches (full, then delta) against startEurekaFake, and interoperates
 * with eurekaBackend both ways. Where the official client and the fake disagree, the fake
 * is wrong.
 */
import { Eureka } from 'eureka-js-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eurekaBackend, type EurekaBackend } from '../../src/backends/eureka/index.js'
import { LeaseLostError } from '../../src/errors.js'
import { GovernanceClient } from '../../src/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startEurekaFake, type EurekaFake } from '../../src/testing/eureka-fake/index.js'
import type { ServiceSnapshot } from '../../src/types.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const quiet = { debug() {}, info() {}, warn() {}, error() {} }
let fake: EurekaFake
let ours: EurekaBackend
const started: Eureka[] = []

function officialClient(app: string, host: string, port: number, extra: { registerWithEureka?: boolean } = {}): Eureka {
  const url = new URL(fake.url)
  const client = new Eureka({
    logger: quiet,
    shouldUseDelta: true,
    instance: {
      app,
      hostName: host,
      ipAddr: host,
      port: { $: port, '@enabled': true },
      vipAddress: app.toLowerCase(),
      statusPageUrl: `http://${host}:${port}/info`,
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    },
    eureka: { host: url.hostname, port: Number(url.port), servicePath: '/eureka/apps/', heartbeatInterval: 100, registryFetchInterval: 100, maxRetries: 0, requestRetryDelay: 50, ...extra },
  } as never)
  started.push(client)
  return client
}

const start = (c: Eureka) => new Promise<void>((resolve, reject) => c.start((e: unknown) => (e ? reject(e as Error) : resolve())))
const stop = (c: Eureka) => new Promise<void>((resolve) => c.stop(() => resolve()))

beforeAll(async () => {
  fake = await startEurekaFake({ evictionIntervalMs: 100 })
  ours = eurekaBackend({ url: fake.url, registryFetchIntervalMs: 50, logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 300 } })
})

afterAll(async () => {
  await Promise.all(started.map((c) => stop(c)))
  await ours?.close()
  await fake?.close()
})

describe('the official eureka-js-client against the fake', () => {
  it('registers, heartbeats, fetches the registry (full then delta) and deregisters', async () => {
    const app = uniqueName('off').toUpperCase()
    const client = officialClient(app, '10.0.0.5', 7001)
    let beats = 0
    client.on('heartbeat', () => beats++)
    await start(client)
    await eventually(() => client.getInstancesByAppId(app).length === 1, 5_000, 'the client sees itself')
    await eventually(() => beats >= 2, 5_000, 'two heartbeats')
    expect(fake.requests('/apps/delta')).toBeGreaterThan(0)
    await stop(client)
    started.splice(started.indexOf(client), 1)
    expect((await ours.resolve(app.toLowerCase(), {})).instances).toEqual([])
  })

  it('re-registers by itself when a heartbeat answers 404 (lease lost)', async () => {
    const app = uniqueName('lost').toUpperCase()
    const client = officialClient(app, '10.0.0.6', 7002)
    let registrations = 0
    client.on('registered', () => registrations++)
    await start(client)
    fake.loseInstance(app, '10.0.0.6')
    await eventually(() => registrations >= 2, 5_000, 're-registered after 404')
    expect((await ours.resolve(app, {})).instances.map((i) => i.id)).toEqual(['10.0.0.6'])
  })
})

describe('interop: eureka-js-client <-> eurekaBackend', () => {
  it('an instance the official client registers is discovered by our watch, and leaves it', async () => {
    const service = uniqueName('theirs')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const unsubscribe = ours.watchService(service, rec)
    const client = officialClient(service.toUpperCase(), '10.0.0.7', 7003)
    try {
      await rec.until((s) => s.instances.length === 0)
      await start(client)
      const hit = await rec.until((s) => s.instances.length === 1)
      expect(hit.value.instances[0]).toMatchObject({ id: '10.0.0.7', service, address: '10.0.0.7', port: 7003, status: 'UP', tags: [], weight: 1 })
      await stop(client)
      started.splice(started.indexOf(client), 1)
      await rec.until((s) => s.instances.length === 0, 5_000, rec.values.indexOf(hit) + 1)
    } finally {
      unsubscribe()
    }
  })

  it('an instance we register is seen by the official client; an OUT_OF_SERVICE override reaches it', async () => {
    const service = uniqueName('ours')
    const app = service.toUpperCase()
    const watcher = officialClient(uniqueName('watcher').toUpperCase(), '10.0.0.8', 7004, { registerWithEureka: false })
    await start(watcher)
    const lease = await ours.register(spec(service, 'i-1', { ttlMs: 5_000 }), {})
    await eventually(() => watcher.getInstancesByAppId(app).length === 1, 5_000, 'official client sees ours')
    const seen = watcher.getInstancesByAppId(app)[0] as unknown as { ipAddr: string; port: { $: number }; metadata: Record<string, string> }
    expect([seen.ipAddr, seen.port.$, seen.metadata.version]).toEqual(['10.1.2.3', 8080, '1.4.2'])
    await ours.register(spec(service, 'i-1', { ttlMs: 5_000, status: 'OUT_OF_SERVICE' }), {})
    await ours.renew(lease, {})
    // eureka-js-client applies a MODIFIED delta without its UP filter (only ADDED and full
    // fetches filter), so it keeps the instance and shows the override's status.
    const statusSeen = () => (watcher.getInstancesByAppId(app)[0] as unknown as { status?: string } | undefined)?.status
    await eventually(() => statusSeen() === 'OUT_OF_SERVICE', 5_000, 'official client sees OUT_OF_SERVICE')
    expect((await ours.resolve(service, {})).instances[0]?.status).toBe('OUT_OF_SERVICE')
    await ours.register(spec(service, 'i-1', { ttlMs: 5_000, status: 'UP' }), {})
    await eventually(() => statusSeen() === 'UP', 5_000, 'back once UP (override deleted)')
    await ours.deregister(lease, {})
    await eventually(() => watcher.getInstancesByAppId(app).length === 0, 5_000, 'gone after cancel')
  })

  it("services(): GovernanceClient lists the apps with instances, the official client's and ours, lower-case", async () => {
    const theirs = uniqueName('list-theirs')
    const own = uniqueName('list-ours')
    const client = officialClient(theirs.toUpperCase(), '10.0.0.9', 7005)
    await start(client)
    const lease = await ours.register(spec(own, 'i-1', { ttlMs: 5_000 }), {})
    const gov = new GovernanceClient({ backend: eurekaBackend({ url: fake.url, logger: silentLogger }), logger: false, metrics: false, requestTimeoutMs: 2_000 })
    try {
      // The fake caches /apps like Eureka's read cache: the names show up within it.
      await eventually(async () => {
        const names = await gov.services()
        return names.includes(theirs.toLowerCase()) && names.includes(own.toLowerCase())
      }, 5_000, 'both apps listed')
      await ours.deregister(lease, {})
      await eventually(async () => !(await gov.services()).includes(own.toLowerCase()), 5_000, 'ours gone once cancelled')
    } finally {
      await stop(client)
      await gov.close()
    }
  })
})

describe('faults', () => {
  it('a server that forgot an instance without a delta: the hash code mismatch forces a full fetch', async () => {
    const service = uniqueName('reconcile')
    await ours.register(spec(service, 'a'), {})
    await ours.register(spec(service, 'b'), {})
    const rec = new WatchRecorder<ServiceSnapshot>()
    const unsubscribe = ours.watchService(service, rec)
    try {
      await rec.until((s) => s.instances.length === 2)
      // No DELETED in the delta: only reconciling with apps__hashcode can notice.
      fake.loseInstance(service, 'a')
      await rec.until((s) => s.instances.map((i) => i.id).join() === 'b')
    } finally {
      unsubscribe()
    }
  })

  it('renew after a server restart rejects with LeaseLostError; registering again restores it', async () => {
    const service = uniqueName('restart')
    const lease = await ours.register(spec(service, 'i-1'), {})
    fake.wipe()
    await expect(ours.renew(lease, {})).rejects.toBeInstanceOf(LeaseLostError)
    await ours.register(spec(service, 'i-1'), {})
    await ours.renew(lease, {})
  })
})
