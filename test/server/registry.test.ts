import { describe, expect, it } from 'vitest'
import { call, errorCode, instanceBody, startServer } from './helpers.js'

describe('registry endpoints', () => {
  it('registers an instance and answers it with the lease and index in body and header', async () => {
    const s = await startServer()
    const before = Date.now()
    const r = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1', {
      body: instanceBody({ metadata: { version: '1.4.2' }, tags: ['http'], zone: 'eu-1a', weight: 3, status: 'STARTING' }),
    })
    expect(r.status).toBe(200)
    expect(r.json.instance).toMatchObject({
      id: 'o-1',
      service: 'orders',
      address: '10.0.0.5',
      port: 8080,
      status: 'STARTING',
      metadata: { version: '1.4.2' },
      tags: ['http'],
      zone: 'eu-1a',
      weight: 3,
      ttlMs: 30_000,
    })
    expect(r.json.instance.registeredAt).toBeGreaterThanOrEqual(before)
    expect(r.json.instance.renewedAt).toBe(r.json.instance.registeredAt)
    expect(r.json.ttlMs).toBe(30_000)
    expect(r.json.index).toMatch(/^[1-9][0-9]*$/)
    expect(r.headers['x-governance-index']).toBe(r.json.index)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
  })

  it('applies defaults and omits zone when not set', async () => {
    const s = await startServer()
    const r = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1', { body: instanceBody() })
    expect(r.json.instance).toMatchObject({ status: 'UP', metadata: {}, tags: [], weight: 1 })
    expect('zone' in r.json.instance).toBe(false)
  })

  it('clamps ttlMs to [1000, 600000] and answers the applied value', async () => {
    const s = await startServer()
    const low = await call(s.url, 'PUT', '/v1/services/a/instances/x', { body: instanceBody({ ttlMs: 5 }) })
    const high = await call(s.url, 'PUT', '/v1/services/a/instances/y', { body: instanceBody({ ttlMs: 10_000_000 }) })
    expect([low.json.ttlMs, low.json.instance.ttlMs]).toEqual([1_000, 1_000])
    expect(high.json.ttlMs).toBe(600_000)
  })

  it('is idempotent: a repeated upsert keeps the index and registeredAt, a changed one advances the index', async () => {
    const s = await startServer()
    const path = '/v1/services/orders/instances/o-1'
    const first = await call(s.url, 'PUT', path, { body: instanceBody() })
    const again = await call(s.url, 'PUT', path, { body: instanceBody() })
    expect(again.json.index).toBe(first.json.index)
    expect(again.json.instance.registeredAt).toBe(first.json.instance.registeredAt)
    expect(again.json.instance.renewedAt).toBeGreaterThanOrEqual(first.json.instance.renewedAt)
    const changed = await call(s.url, 'PUT', path, { body: instanceBody({ status: 'DOWN' }) })
    expect(BigInt(changed.json.index)).toBeGreaterThan(BigInt(first.json.index))
    expect(changed.json.instance.registeredAt).toBe(first.json.instance.registeredAt)
    const metadataOrder = await call(s.url, 'PUT', path, { body: instanceBody({ status: 'DOWN', metadata: { a: '1', b: '2' } }) })
    const reordered = await call(s.url, 'PUT', path, { body: instanceBody({ status: 'DOWN', metadata: { b: '2', a: '1' } }) })
    expect(reordered.json.index).toBe(metadataOrder.json.index)
  })

  it('lists instances sorted by id with every status, and 200 for an unknown service', async () => {
    const s = await startServer()
    for (const [id, status] of [['c', 'UP'], ['a', 'DOWN'], ['b', 'OUT_OF_SERVICE']] as const) {
      await call(s.url, 'PUT', `/v1/services/orders/instances/${id}`, { body: instanceBody({ status }) })
    }
    const list = await call(s.url, 'GET', '/v1/services/orders')
    expect(list.status).toBe(200)
    expect(list.json.service).toBe('orders')
    expect(list.json.instances.map((i: { id: string }) => i.id)).toEqual(['a', 'b', 'c'])
    expect(list.headers['x-governance-index']).toBe(list.json.index)
    const unknown = await call(s.url, 'GET', '/v1/services/nobody')
    expect(unknown.status).toBe(200)
    expect(unknown.json).toEqual({ service: 'nobody', instances: [], index: '1' })
  })

  it('lists services that have instances, sorted, with counts', async () => {
    const s = await startServer()
    await call(s.url, 'PUT', '/v1/services/zeta/instances/1', { body: instanceBody() })
    await call(s.url, 'PUT', '/v1/services/alpha/instances/1', { body: instanceBody() })
    await call(s.url, 'PUT', '/v1/services/alpha/instances/2', { body: instanceBody() })
    await call(s.url, 'PUT', '/v1/services/gone/instances/1', { body: instanceBody() })
    const last = await call(s.url, 'DELETE', '/v1/services/gone/instances/1')
    const r = await call(s.url, 'GET', '/v1/services')
    expect(r.json.services).toEqual([
      { name: 'alpha', instances: 2, byStatus: { UP: 2 }, byZone: { '': 2 }, index: expect.any(String) },
      { name: 'zeta', instances: 1, byStatus: { UP: 1 }, byZone: { '': 1 }, index: expect.any(String) },
    ])
    expect(r.json.index).toBe(last.json.index)
  })

  it('renews with a heartbeat, answers 404 for unknown instances, accepts {} as body', async () => {
    const s = await startServer()
    await call(s.url, 'PUT', '/v1/services/orders/instances/o-1', { body: instanceBody({ ttlMs: 20_000 }) })
    const hb = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1/heartbeat')
    expect(hb.status).toBe(200)
    expect(hb.json).toEqual({ ttlMs: 20_000 })
    expect((await call(s.url, 'PUT', '/v1/services/orders/instances/o-1/heartbeat', { body: {} })).status).toBe(200)
    const unknown = await call(s.url, 'PUT', '/v1/services/orders/instances/nope/heartbeat')
    expect(unknown.status).toBe(404)
    expect(errorCode(unknown)).toBe('not_found')
    const wrongBody = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1/heartbeat', { body: [1] })
    expect(wrongBody.status).toBe(400)
  })

  it('deregisters idempotently and heartbeats then get 404', async () => {
    const s = await startServer()
    const reg = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1', { body: instanceBody() })
    const del = await call(s.url, 'DELETE', '/v1/services/orders/instances/o-1')
    expect(del.status).toBe(200)
    expect(del.json.removed).toBe(true)
    expect(BigInt(del.json.index)).toBeGreaterThan(BigInt(reg.json.index))
    const again = await call(s.url, 'DELETE', '/v1/services/orders/instances/o-1')
    expect(again.status).toBe(200)
    expect(again.json).toEqual({ removed: false, index: del.json.index })
    expect((await call(s.url, 'PUT', '/v1/services/orders/instances/o-1/heartbeat')).status).toBe(404)
    expect((await call(s.url, 'GET', '/v1/services/orders')).json.instances).toEqual([])
  })

  it('keeps indexes increasing across services and reports the latest change in health', async () => {
    const s = await startServer()
    const indexes: bigint[] = []
    for (const service of ['a', 'b', 'a', 'c']) {
      const r = await call(s.url, 'PUT', `/v1/services/${service}/instances/${indexes.length}`, { body: instanceBody() })
      indexes.push(BigInt(r.json.index))
    }
    expect([...indexes].sort((x, y) => (x < y ? -1 : 1))).toEqual(indexes)
    expect(new Set(indexes).size).toBe(4)
    const health = await call(s.url, 'GET', '/v1/health')
    expect(health.json.status).toBe('ok')
    expect(BigInt(health.json.index)).toBe(indexes[3])
  })

  it.each([
    ['no address', { port: 1, ttlMs: 1000 }],
    ['address with a space', { address: 'a b', port: 1, ttlMs: 1000 }],
    ['empty address', { address: '', port: 1, ttlMs: 1000 }],
    ['address too long', { address: 'a'.repeat(254), port: 1, ttlMs: 1000 }],
    ['port 0', { address: 'h', port: 0, ttlMs: 1000 }],
    ['port 65536', { address: 'h', port: 65_536, ttlMs: 1000 }],
    ['port as string', { address: 'h', port: '80', ttlMs: 1000 }],
    ['no ttlMs', { address: 'h', port: 1 }],
    ['fractional ttlMs', { address: 'h', port: 1, ttlMs: 1000.5 }],
    ['unknown status', { address: 'h', port: 1, ttlMs: 1000, status: 'up' }],
    ['metadata array', { address: 'h', port: 1, ttlMs: 1000, metadata: ['a'] }],
    ['metadata number value', { address: 'h', port: 1, ttlMs: 1000, metadata: { a: 1 } }],
    ['65 metadata entries', { address: 'h', port: 1, ttlMs: 1000, metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }],
    ['metadata value too long', { address: 'h', port: 1, ttlMs: 1000, metadata: { a: 'x'.repeat(1025) } }],
    ['33 tags', { address: 'h', port: 1, ttlMs: 1000, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }],
    ['empty tag', { address: 'h', port: 1, ttlMs: 1000, tags: [''] }],
    ['empty zone', { address: 'h', port: 1, ttlMs: 1000, zone: '' }],
    ['weight 1001', { address: 'h', port: 1, ttlMs: 1000, weight: 1001 }],
    ['negative weight', { address: 'h', port: 1, ttlMs: 1000, weight: -1 }],
    ['a body that is an array', [1, 2]],
    ['a body that is null', null],
  ])('rejects a registration with %s (400) and stores nothing', async (_name, body) => {
    const s = await startServer()
    const r = await call(s.url, 'PUT', '/v1/services/orders/instances/o-1', { body })
    expect(r.status).toBe(400)
    expect(errorCode(r)).toBe('bad_request')
    expect((await call(s.url, 'GET', '/v1/services/orders')).json.instances).toEqual([])
  })

  it('accepts the limits exactly and keeps a "__proto__" metadata key as plain data', async () => {
    const s = await startServer()
    const metadata = JSON.parse(`{"__proto__":"x",${Array.from({ length: 63 }, (_, i) => `"k${i}":"${'v'.repeat(1024)}"`).join(',')}}`)
    const body = instanceBody({ address: 'h'.repeat(253), port: 65_535, metadata, tags: Array.from({ length: 32 }, () => 't'.repeat(128)), weight: 0 })
    const r = await call(s.url, 'PUT', `/v1/services/${'s'.repeat(128)}/instances/${'i'.repeat(128)}`, { body })
    expect(r.status).toBe(200)
    expect(Object.keys(r.json.instance.metadata)).toHaveLength(64)
    expect(Object.getOwnPropertyDescriptor(r.json.instance.metadata, '__proto__')?.value).toBe('x')
  })

  it('rejects invalid service names and instance ids with 400', async () => {
    const s = await startServer()
    for (const path of [
      '/v1/services/-bad/instances/a',
      '/v1/services/a/instances/_x',
      `/v1/services/${'s'.repeat(129)}/instances/a`,
      '/v1/services/a%2Fb/instances/a',
      '/v1/services/a/instances/a%20b',
    ]) {
      const r = await call(s.url, 'PUT', path, { body: instanceBody() })
      expect(r.status, path).toBe(400)
    }
  })
})
