/**
 * Proof against a client no one here wrote: the official `consul` npm client runs its
 * ordinary calls against startConsulFake, and interoperates with consulBackend both ways.
 * Where the official client and the fake disagree, the fake is wrong.
 */
import Consul from 'consul'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consulBackend, type ConsulBackend } from '../../src/backends/consul/index.js'
import { AuthError, LeaseLostError, RequestRejectedError, ServerError } from '../../src/errors.js'
import { GovernanceClient } from '../../src/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { startConsulFake, type ConsulFake } from '../../src/testing/consul-fake/index.js'
import type { ConfigEntry, ServiceSnapshot } from '../../src/types.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const TOKEN = 'official-token'
let fake: ConsulFake
let official: Consul
let ours: ConsulBackend
/** The client's typings demand more check fields than its code (and Consul) need. */
const register = (options: Record<string, unknown>) => official.agent.service.register(options as never)

beforeAll(async () => {
  fake = await startConsulFake({ aclToken: TOKEN, minDeregisterCriticalMs: 300, reapIntervalMs: 100 })
  const url = new URL(fake.url)
  official = new Consul({ host: url.hostname, port: Number(url.port), defaults: { token: TOKEN } })
  ours = consulBackend({ url: fake.url, token: TOKEN, blockingWaitMs: 5_000, logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 300 } })
})

afterAll(async () => {
  await ours?.close()
  await fake?.close()
})

describe('the official consul client against the fake', () => {
  it('registers with a TTL check, passes it, lists, and deregisters', async () => {
    const name = uniqueName('off')
    await register({ name, id: `${name}-1`, address: '10.0.0.9', port: 7000, tags: ['v1'], meta: { team: 'a' }, check: { ttl: '10s', deregistercriticalserviceafter: '1m' } })
    // An embedded check without Status starts critical: not passing yet.
    expect(await official.health.service({ service: name, passing: true })).toEqual([])
    await official.agent.check.pass({ id: `service:${name}-1` })
    const healthy = (await official.health.service({ service: name, passing: true })) as { Service: { ID: string; Port: number; Tags: string[] } }[]
    expect(healthy.map((e) => [e.Service.ID, e.Service.Port, e.Service.Tags])).toEqual([[`${name}-1`, 7000, ['v1']]])
    const listed = (await official.agent.service.list()) as Record<string, { Service: string }>
    expect(listed[`${name}-1`]?.Service).toBe(name)
    const catalog = (await official.catalog.service.nodes(name)) as { ServiceID: string }[]
    expect(catalog.map((r) => r.ServiceID)).toEqual([`${name}-1`])
    await official.agent.service.deregister(`${name}-1`)
    expect(await official.health.service({ service: name })).toEqual([])
  })

  it('a check pass for an unknown check is refused (the agent lost it)', async () => {
    const error = (await official.agent.check.pass({ id: 'service:nobody' }).catch((e: unknown) => e)) as { statusCode?: number }
    expect(error.statusCode).toBe(404)
  })

  it('KV set / get / cas / del', async () => {
    const key = `off/${uniqueName('kv')}`
    expect(await official.kv.set(key, 'one')).toBe(true)
    const got = (await official.kv.get(key)) as { Value: string; ModifyIndex: number }
    expect(got.Value).toBe('one')
    expect(await official.kv.set({ key, value: 'two', cas: got.ModifyIndex })).toBe(true)
    // A lost cas answers `false`, which this client hands back as a falsy result.
    expect(await official.kv.set({ key, value: 'three', cas: got.ModifyIndex })).toBeFalsy()
    expect(((await official.kv.get(key)) as { Value: string }).Value).toBe('two')
    await official.kv.del(key)
    expect(await official.kv.get(key)).toBeUndefined()
  })

  it('a watch on health.service sees a registration (blocking queries)', async () => {
    const name = uniqueName('offwatch')
    const watch = official.watch({ method: official.health.service, options: { service: name, passing: true, wait: '5s' } as never })
    const seen: unknown[][] = []
    watch.on('change', (data: unknown[]) => seen.push(data))
    try {
      await eventually(() => seen.length >= 1, 5_000, 'first answer')
      await register({ name, id: `${name}-1`, port: 1, check: { ttl: '10s', status: 'passing' } })
      await eventually(() => seen.some((d) => d.length === 1), 5_000, 'watch saw the registration')
    } finally {
      watch.end()
    }
  })

  it('without the ACL token the fake refuses, as Consul does (403)', async () => {
    const url = new URL(fake.url)
    const anonymous = new Consul({ host: url.hostname, port: Number(url.port) })
    await expect(anonymous.kv.get('x')).rejects.toThrow(/Permission denied/)
    const wrong = consulBackend({ url: fake.url, token: 'wrong', logger: silentLogger })
    await expect(wrong.resolve('x', {})).rejects.toBeInstanceOf(AuthError)
    await wrong.close()
  })
})

describe('interop: official client <-> consulBackend', () => {
  it('an instance the official client registers is discovered by our watch, and leaves it', async () => {
    const name = uniqueName('interop')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = ours.watchService(name, rec)
    try {
      await rec.until((s) => s.instances.length === 0)
      await register({ name, id: 'foreign-1', address: '10.9.9.9', port: 9100, tags: ['x'], meta: { a: 'b' }, check: { ttl: '10s', status: 'passing' } })
      const hit = await rec.until((s) => s.instances.length === 1)
      expect(hit.value.instances[0]).toEqual({ id: 'foreign-1', service: name, address: '10.9.9.9', port: 9100, status: 'UP', metadata: { a: 'b' }, tags: ['x'], weight: 1 })
      await official.agent.service.deregister('foreign-1')
      await rec.until((s) => s.instances.length === 0, 5_000, rec.values.indexOf(hit) + 1)
    } finally {
      stop()
    }
  })

  it('an instance we register is listed passing by the official client', async () => {
    const name = uniqueName('ours')
    const lease = await ours.register(spec(name, 'i-1', { ttlMs: 10_000 }), {})
    const entries = (await official.health.service({ service: name, passing: true })) as { Service: { Address: string; Port: number; Meta: Record<string, string> } }[]
    expect(entries.map((e) => [e.Service.Address, e.Service.Port, e.Service.Meta.version])).toEqual([['10.1.2.3', 8080, '1.4.2']])
    await ours.deregister(lease, {})
    expect(await official.health.service({ service: name, passing: true })).toEqual([])
  })

  it('services(): GovernanceClient lists the catalog the official client sees, its registrations and ours', async () => {
    const foreign = uniqueName('list-off')
    const own = uniqueName('list-ours')
    await register({ name: foreign, id: `${foreign}-1`, address: '10.9.9.8', port: 9101, check: { ttl: '10s', status: 'passing' } })
    const lease = await ours.register(spec(own, 'i-1', { ttlMs: 10_000 }), {})
    const gov = new GovernanceClient({ backend: consulBackend({ url: fake.url, token: TOKEN, logger: silentLogger }), logger: false, metrics: false, requestTimeoutMs: 2_000 })
    try {
      const names = await gov.services()
      const catalog = (await official.catalog.service.list()) as Record<string, string[]>
      expect(names).toEqual(Object.keys(catalog).sort())
      expect(names).toEqual(expect.arrayContaining(['consul', foreign, own]))
      await ours.deregister(lease, {})
      expect(await gov.services()).not.toContain(own)
    } finally {
      await official.agent.service.deregister(`${foreign}-1`)
      await gov.close()
    }
  })

  it('a config the official client sets is seen by our watch; ours is seen by its watch', async () => {
    const key = uniqueName('cfg')
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = ours.watchConfig(key, rec)
    const path = `governance/config/${key}`
    const theirs = official.watch({ method: official.kv.get, options: { key: path, wait: '5s' } })
    const seenByThem: (string | undefined)[] = []
    theirs.on('change', (data: { Value?: string } | undefined) => seenByThem.push(data?.Value))
    try {
      await rec.until((v) => v === undefined)
      await official.kv.set(path, JSON.stringify({ rps: 5 }))
      await rec.until((v) => (v?.value as { rps?: number } | undefined)?.rps === 5)
      await official.kv.set(path, 'plain text')
      await rec.until((v) => v?.value === 'plain text')
      await ours.putConfig(key, { rps: 9 }, {}, {})
      await eventually(() => seenByThem.includes('{"rps":9}'), 5_000, 'official watch saw our put')
    } finally {
      stop()
      theirs.end()
    }
  })
})

describe('held blocking queries', () => {
  it('with two agents a blocking query is held for its whole wait, not a share of the deadline', async () => {
    const second = await startConsulFake({ aclToken: TOKEN })
    // Hold deadline: 1,000 ms wait + jitter + 400 ms. Split over two servers it would be ~730 ms: every hold would time out.
    const twoAgents = consulBackend({ urls: [fake.url, second.url], token: TOKEN, blockingWaitMs: 1_000, requestTimeoutMs: 400, logger: silentLogger })
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = twoAgents.watchService(uniqueName('held'), rec)
    try {
      await rec.until((s) => s.instances.length === 0)
      const holdsBefore = fake.requests('/v1/health/service/')
      await new Promise((r) => setTimeout(r, 2_500))
      expect(rec.errors.map((e) => e.message)).toEqual([])
      // About one query a second, all on the first agent: a timed-out hold would have moved on.
      expect(fake.requests('/v1/health/service/') - holdsBefore).toBeGreaterThanOrEqual(1)
      expect(second.requests('/v1/health/service/')).toBe(0)
    } finally {
      stop()
      await twoAgents.close()
      await second.close()
    }
  })

  it('past watchConnections held queries a watch gets RequestRejectedError and keeps retrying', async () => {
    const narrow = consulBackend({ url: fake.url, token: TOKEN, blockingWaitMs: 5_000, watchConnections: 2, logger: silentLogger, watchBackoff: { minDelayMs: 50, maxDelayMs: 100 } })
    const recs = [0, 1, 2].map(() => new WatchRecorder<ServiceSnapshot>())
    const stops = recs.map((rec) => narrow.watchService(uniqueName('narrow'), rec))
    try {
      await eventually(() => recs.some((r) => r.errors.some((e) => e instanceof RequestRejectedError)), 5_000, 'a third held query refused')
      const refused = recs.flatMap((r) => r.errors).find((e) => e instanceof RequestRejectedError)!
      expect(refused.details).toMatchObject({ limit: 'heldConnections', heldConnections: 2 })
      // Each watch still delivered its first state (an unconditional read is not held).
      expect(recs.every((r) => r.values.length >= 1)).toBe(true)
    } finally {
      stops.forEach((s) => s())
      await narrow.close()
    }
  })
})

describe('faults', () => {
  it('lease loss: renew rejects with LeaseLostError, re-registering restores the instance', async () => {
    const name = uniqueName('lost')
    const lease = await ours.register(spec(name, 'i-1'), {})
    fake.loseService(lease.id)
    await expect(ours.renew(lease, {})).rejects.toBeInstanceOf(LeaseLostError)
    await ours.register(spec(name, 'i-1'), {})
    await ours.renew(lease, {})
  })

  it('a lapsed TTL check is reaped after DeregisterCriticalServiceAfter', async () => {
    const name = uniqueName('reap')
    const reaping = consulBackend({ url: fake.url, token: TOKEN, deregisterCriticalAfterMs: 1_000, logger: silentLogger })
    try {
      await reaping.register(spec(name, 'i-1', { ttlMs: 200 }), {})
      const services = async () => Object.values((await official.agent.service.list()) as Record<string, { Service: string }>).filter((s) => s.Service === name)
      expect(await services()).toHaveLength(1)
      await eventually(async () => (await services()).length === 0, 5_000, 'reaped')
    } finally {
      await reaping.close()
    }
  })

  it('an index that goes backwards (snapshot restore) resets the watch, which then keeps delivering', async () => {
    const name = uniqueName('reset')
    await ours.register(spec(name, 'a'), {})
    // A query that asks for an index above the restored one holds until a change or its wait
    // ends, as on a real server: a short wait keeps this test quick.
    const short = consulBackend({ url: fake.url, token: TOKEN, blockingWaitMs: 1_000, logger: silentLogger })
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = short.watchService(name, rec)
    try {
      await rec.until((s) => s.instances.length === 1)
      fake.resetIndex(1)
      await ours.register(spec(name, 'b'), {})
      const after = await rec.until((s) => s.instances.length === 2)
      expect(rec.values.some((r) => r.meta.reset)).toBe(true)
      expect(after.value.instances.map((i) => i.id)).toEqual(['a', 'b'])
    } finally {
      stop()
      await short.close()
    }
  })

  it('503 answers are retried, a 500 is reported; a slow agent still answers', async () => {
    const name = uniqueName('flaky')
    fake.faults.failNext(1, 503, 'rate limit exceeded', '/v1/health/service/')
    expect((await ours.resolve(name, {})).instances).toEqual([])
    fake.faults.failNext(1, 500, 'rpc error: No cluster leader', '/v1/health/service/')
    await expect(ours.resolve(name, {})).rejects.toBeInstanceOf(ServerError)
    fake.faults.delayMs = 150
    try {
      const started = Date.now()
      await ours.resolve(name, {})
      expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    } finally {
      fake.faults.clear()
    }
  })
})
