/**
 * Proof against a client no one here wrote: the official `nacos` npm client (nacos-naming
 * and nacos-config) registers, beats, lists, subscribes, publishes, reads and listens
 * against startNacosFake with auth on, and interoperates with nacosBackend both ways.
 * Where the official client and the fake disagree, the fake is wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NacosConfigClient, NacosNamingClient } from 'nacos'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nacosBackend, type NacosBackend } from '../../src/backends/nacos/index.js'
import { AuthError, LeaseLostError } from '../../src/errors.js'
import { GovernanceClient } from '../../src/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startNacosFake, type NacosFake } from '../../src/testing/nacos-fake/index.js'
import type { ConfigEntry, ServiceSnapshot } from '../../src/types.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const NS = 'interop'
let fake: NacosFake
let ours: NacosBackend
let naming: InstanceType<typeof NacosNamingClient>
let config: InstanceType<typeof NacosConfigClient>
let cacheDir: string

interface Host {
  ip: string
  port: number
  healthy: boolean
  metadata: Record<string, string>
}

beforeAll(async () => {
  fake = await startNacosFake({ users: { nacos: 'secret' }, cacheMillis: 200, healthCheckIntervalMs: 50, maxHoldMs: 1_000 })
  const addr = new URL(fake.url).host
  cacheDir = mkdtempSync(join(tmpdir(), 'nacos-cache-'))
  naming = new NacosNamingClient({ logger: quiet, serverList: addr, namespace: NS, username: 'nacos', password: 'secret' } as never)
  await naming.ready()
  config = new NacosConfigClient({ serverAddr: addr, namespace: NS, username: 'nacos', password: 'secret', cacheDir } as never)
  await config.ready()
  ours = nacosBackend({ url: fake.url, namespace: NS, username: 'nacos', password: 'secret', logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 300 } })
})

afterAll(async () => {
  await ours?.close()
  ;(naming as unknown as { close?: () => void } | undefined)?.close?.()
  config?.close()
  // nacos-config's last long poll outlives close() (held up to maxHoldMs): let it end first.
  await new Promise((r) => setTimeout(r, 1_200))
  await fake?.close()
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true })
})

describe('the official nacos client against the fake', () => {
  it('registers an ephemeral instance, beats, lists it, and deregisters', async () => {
    const service = uniqueName('off')
    await naming.registerInstance(service, { ip: '10.0.0.5', port: 7001, metadata: { team: 'a' } } as never)
    const hosts = (await naming.getAllInstances(service, 'DEFAULT_GROUP', '', false)) as Host[]
    expect(hosts.map((h) => [h.ip, h.port, h.healthy, h.metadata.team])).toEqual([['10.0.0.5', 7001, true, 'a']])
    await eventually(() => fake.requests('/nacos/v1/ns/instance/beat') > 0, 10_000, 'a beat')
    await naming.deregisterInstance(service, { ip: '10.0.0.5', port: 7001 } as never)
    // The client ignores an empty host list (ServiceInfo.isValid) and keeps its last one,
    // so the server's side is checked through our backend.
    expect((await ours.resolve(service, {})).instances).toEqual([])
  })

  it('publishes, reads, listens to and removes a config', async () => {
    const dataId = uniqueName('off-cfg')
    expect(await config.publishSingle(dataId, 'DEFAULT_GROUP', 'v=1')).toBe(true)
    expect(await config.getConfig(dataId, 'DEFAULT_GROUP')).toBe('v=1')
    const seen: string[] = []
    config.subscribe({ dataId, group: 'DEFAULT_GROUP' }, (content: string) => seen.push(content))
    try {
      await eventually(() => seen.includes('v=1'), 5_000, 'first listener value')
      await config.publishSingle(dataId, 'DEFAULT_GROUP', 'v=2')
      await eventually(() => seen.includes('v=2'), 5_000, 'listener saw the change')
    } finally {
      config.unSubscribe({ dataId, group: 'DEFAULT_GROUP' }, () => undefined)
    }
    expect(await config.remove(dataId, 'DEFAULT_GROUP')).toBe(true)
    expect(await config.getConfig(dataId, 'DEFAULT_GROUP')).toBeNull()
  })
})

describe('interop: nacos client <-> nacosBackend', () => {
  it('an instance the official client registers is discovered by our watch, and leaves it', async () => {
    const service = uniqueName('theirs')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = ours.watchService(service, rec)
    try {
      await rec.until((s) => s.instances.length === 0)
      await naming.registerInstance(service, { ip: '10.0.0.7', port: 7003, weight: 2, metadata: { a: 'b' } } as never)
      const hit = await rec.until((s) => s.instances.length === 1)
      expect(hit.value.instances[0]).toEqual({ id: '10.0.0.7:7003', service, address: '10.0.0.7', port: 7003, status: 'UP', metadata: { a: 'b' }, tags: [], weight: 2 })
      await naming.deregisterInstance(service, { ip: '10.0.0.7', port: 7003 } as never)
      await rec.until((s) => s.instances.length === 0, 5_000, rec.values.indexOf(hit) + 1)
    } finally {
      stop()
    }
  })

  it('an instance we register is seen by the official subscription, with its metadata', async () => {
    const service = uniqueName('ours')
    const seen: Host[][] = []
    naming.subscribe(service, (hosts: Host[]) => seen.push(hosts))
    try {
      const lease = await ours.register(spec(service, 'i-1', { ttlMs: 10_000 }), {})
      await eventually(() => seen.some((h) => h.length === 1 && h[0]!.metadata['gc-id'] === 'i-1'), 10_000, 'official subscription saw ours')
      await ours.deregister(lease, {})
      // The official client never reports an empty list (see above); the server dropped it.
      expect((await ours.resolve(service, {})).instances).toEqual([])
    } finally {
      naming.unSubscribe(service, () => undefined)
    }
  })

  it("services(): GovernanceClient lists the group's services as the official client does, across pages", async () => {
    const theirs = uniqueName('list-theirs')
    const elsewhere = uniqueName('list-other-group')
    await naming.registerInstance(theirs, { ip: '10.0.0.8', port: 7004 } as never)
    await naming.registerInstance(elsewhere, { ip: '10.0.0.8', port: 7005 } as never, 'OTHER_GROUP')
    // 501 services in a namespace of their own: two pages of the backend's 500.
    const paged = uniqueName('list-paged')
    const writer = nacosBackend({ url: fake.url, namespace: `${NS}-paging`, username: 'nacos', password: 'secret', logger: silentLogger })
    const names = Array.from({ length: 501 }, (_, i) => `${paged}-${String(i).padStart(3, '0')}`)
    const options = { logger: false as const, metrics: false as const, requestTimeoutMs: 5_000 }
    const gov = new GovernanceClient({ ...options, backend: nacosBackend({ url: fake.url, namespace: NS, username: 'nacos', password: 'secret', logger: silentLogger }) })
    const govPaged = new GovernanceClient({ ...options, backend: writer })
    try {
      const listed = await gov.services()
      const proxy = (naming as unknown as { _serverProxy: { getServiceList(no: number, size: number, group: string): Promise<{ count: number; data: string[] }> } })._serverProxy
      const official = await proxy.getServiceList(1, 10_000, 'DEFAULT_GROUP')
      expect(listed).toEqual([...official.data].sort())
      expect(official.count).toBe(listed.length)
      expect(listed).toContain(theirs)
      expect(listed).not.toContain(elsewhere)
      for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n, j) => writer.register(spec(n, 'i-1', { port: 1000 + i + j }), {})))
      expect(await govPaged.services()).toEqual(names)
    } finally {
      await naming.deregisterInstance(theirs, { ip: '10.0.0.8', port: 7004 } as never)
      await naming.deregisterInstance(elsewhere, { ip: '10.0.0.8', port: 7005 } as never, 'OTHER_GROUP')
      await Promise.allSettled([gov.close(), govPaged.close()])
    }
  })

  it('a config the official client publishes is seen by our watch; ours by its listener', async () => {
    const dataId = uniqueName('cfg')
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = ours.watchConfig(dataId, rec)
    const theirs: string[] = []
    try {
      await rec.until((v) => v === undefined)
      await config.publishSingle(dataId, 'DEFAULT_GROUP', JSON.stringify({ rps: 5 }))
      await rec.until((v) => (v?.value as { rps?: number } | undefined)?.rps === 5)
      await config.publishSingle(dataId, 'DEFAULT_GROUP', 'plain text')
      await rec.until((v) => v?.value === 'plain text')
      config.subscribe({ dataId, group: 'DEFAULT_GROUP' }, (content: string) => theirs.push(content))
      await eventually(() => theirs.includes('plain text'), 5_000, 'their first value')
      await ours.putConfig(dataId, { rps: 9 }, {}, {})
      await eventually(() => theirs.includes('{"rps":9}'), 5_000, 'their listener saw our put')
    } finally {
      stop()
      config.unSubscribe({ dataId, group: 'DEFAULT_GROUP' }, () => undefined)
    }
  })
})

describe('faults', () => {
  it('lease loss: a light beat answers 20404, renew rejects with LeaseLostError, registering restores it', async () => {
    const service = uniqueName('lost')
    const lease = await ours.register(spec(service, 'i-1'), {})
    fake.loseInstance(NS, `DEFAULT_GROUP@@${service}`, '10.1.2.3', 8080)
    await expect(ours.renew(lease, {})).rejects.toBeInstanceOf(LeaseLostError)
    await ours.register(spec(service, 'i-1'), {})
    await ours.renew(lease, {})
    expect((await ours.resolve(service, {})).instances.map((i) => i.id)).toEqual(['i-1'])
  })

  it('expired tokens: the backend logs in again and the call succeeds; bad credentials are an AuthError', async () => {
    fake.expireTokens()
    expect((await ours.resolve(uniqueName('token'), {})).instances).toEqual([])
    const wrong = nacosBackend({ url: fake.url, username: 'nacos', password: 'nope', logger: silentLogger })
    await expect(wrong.resolve('x', {})).rejects.toBeInstanceOf(AuthError)
    await wrong.close()
  })

  it('compare-and-set: a write by another client makes a put with the older version lose', async () => {
    const dataId = uniqueName('cas')
    const first = await ours.putConfig(dataId, 1, {}, {})
    // Another client wrote since our version: the stale version loses.
    await config.publishSingle(dataId, 'DEFAULT_GROUP', '2')
    const lost = await ours.putConfig(dataId, 3, { ifVersion: first.version }, {}).catch((e: unknown) => e)
    expect((lost as Error).name).toBe('ConflictError')
    expect(await config.getConfig(dataId, 'DEFAULT_GROUP')).toBe('2')
  })
})
