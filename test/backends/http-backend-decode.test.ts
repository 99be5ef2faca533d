/**
 * The http backend against the testing kit's protocol v1 handlers (msw), bent per test: wrong shapes must be
 * ProtocolErrors naming the field; lease lost, CAS conflict and index resets per the spec.
 */
import { http, HttpResponse } from 'msw'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { ConflictError, InvalidArgumentError, LeaseLostError, ProtocolError } from '../../src/errors.js'
import type { ConfigEntry, InstanceSpec, ServiceSnapshot } from '../../src/types.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import { protocolV1Handlers } from '../../src/testing/msw/index.js'
import { startMswNetwork, type MswNetwork } from '../helpers/msw-network.js'
import { watchRecorder } from '../helpers/watch-recorder.js'

const BASE = 'http://gov.test'
const ctx = {}
const spec: InstanceSpec = { id: 'o-1', service: 'orders', address: '10.0.0.5', port: 8080, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 15_000 }
const goodInstance = { id: 'o-1', service: 'orders', address: '10.0.0.5', port: 8080, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 15000, registeredAt: 1, renewedAt: 1 }

let net: MswNetwork
let registry: TestRegistry
let backend: Backend
const unhandledRejections: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason)

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  net = await startMswNetwork()
})
beforeEach(() => {
  registry = createTestRegistry()
  net.use(...protocolV1Handlers({ baseUrl: BASE, registry }))
  backend = httpBackend({ server: BASE, watchWaitMs: 1_000, requestTimeoutMs: 1_000 })
})
afterEach(async () => {
  await backend.close()
  await registry.close()
  net.reset()
})
afterAll(async () => {
  await net.stop()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandledRejections).toEqual([])
})

async function protocolError(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ProtocolError)
  return (err as Error).message
}

describe('decoding', () => {
  type JsonBody = Parameters<typeof HttpResponse.json>[0]
  const list = (body: unknown): void => net.use(http.get(`${BASE}/v1/services/orders`, () => HttpResponse.json(body as JsonBody)))

  it.each([
    ['a body that is an array', [], 'field "body" must be an object, got []'],
    ['a missing index', { service: 'orders', instances: [] }, 'field "index" must be a decimal string >= 1, got nothing'],
    ['a numeric index', { service: 'orders', instances: [], index: 5 }, 'field "index" must be a decimal string >= 1, got 5'],
    ['index 0', { service: 'orders', instances: [], index: '0' }, 'field "index" must be a decimal string >= 1, got "0"'],
    ['another service', { service: 'payments', instances: [], index: '2' }, 'field "service" must be "orders", got "payments"'],
    ['instances not a list', { service: 'orders', instances: {}, index: '2' }, 'field "instances" must be an array'],
    ['a port as string', { service: 'orders', instances: [{ ...goodInstance, port: '8080' }], index: '2' }, 'field "instances[0].port" must be an integer in [1, 65535], got "8080"'],
    ['an unknown status', { service: 'orders', instances: [{ ...goodInstance, status: 'HEALTHY' }], index: '2' }, 'field "instances[0].status" must be one of STARTING, UP, DOWN, OUT_OF_SERVICE'],
    ['a numeric metadata value', { service: 'orders', instances: [{ ...goodInstance, metadata: { v: 1 } }], index: '2' }, 'field "instances[0].metadata.v" must be a string, got 1'],
    ['a missing weight', { service: 'orders', instances: [{ ...goodInstance, weight: undefined }], index: '2' }, 'field "instances[0].weight" must be an integer in [0, 1000], got nothing'],
    ['an instance of another service', { service: 'orders', instances: [{ ...goodInstance, service: 'x' }], index: '2' }, 'field "instances[0].service" must be "orders", got "x"'],
  ])('resolve rejects %s', async (_name, body, message) => {
    list(body)
    expect(await protocolError(backend.resolve('orders', ctx))).toContain(message)
  })

  it('resolve drops unknown fields and keeps only the Instance shape', async () => {
    list({ service: 'orders', instances: [{ ...goodInstance, secret: 'x' }], index: '2', extra: true })
    const snap = await backend.resolve('orders', ctx)
    expect(snap).toEqual({ service: 'orders', instances: [{ id: 'o-1', service: 'orders', address: '10.0.0.5', port: 8080, status: 'UP', metadata: {}, tags: [], weight: 1 }], revision: '2' })
  })

  it('register checks the answer is the instance it sent, with a TTL', async () => {
    net.use(http.put(`${BASE}/v1/services/orders/instances/o-1`, () => HttpResponse.json({ instance: { ...goodInstance, id: 'o-2' }, ttlMs: 1000, index: '3' })))
    expect(await protocolError(backend.register(spec, ctx))).toContain('field "instance.id" must be "o-1", got "o-2"')
    net.use(http.put(`${BASE}/v1/services/orders/instances/o-1`, () => HttpResponse.json({ instance: goodInstance, index: '3' })))
    expect(await protocolError(backend.register(spec, ctx))).toContain('field "ttlMs"')
  })

  it('renew, deregister, config and metrics answers are checked too', async () => {
    net.use(
      http.put(`${BASE}/v1/services/orders/instances/o-1/heartbeat`, () => HttpResponse.json({ ttl: 5 })),
      http.delete(`${BASE}/v1/services/orders/instances/o-1`, () => HttpResponse.json({ removed: 'yes', index: '4' })),
      http.get(`${BASE}/v1/config/a`, () => HttpResponse.json({ key: 'a', version: '3', index: '3' })),
      http.get(`${BASE}/v1/config/b`, () => HttpResponse.json({ key: 'b', value: 1, version: 'v3', index: '3' })),
      http.get(`${BASE}/v1/config/c`, () => HttpResponse.json({ error: { code: 'not_found', message: 'route' } }, { status: 404 })),
      http.put(`${BASE}/v1/config/d`, () => HttpResponse.json({ error: { code: 'conflict', message: 'no' } }, { status: 409 })),
      http.post(`${BASE}/v1/metrics`, () => HttpResponse.json({ ok: true }, { status: 202 })),
    )
    const lease = { id: 'o-1', service: 'orders', instanceId: 'o-1', ttlMs: 1 }
    expect(await protocolError(backend.renew(lease, ctx))).toContain('field "ttlMs"')
    expect(await protocolError(backend.deregister(lease, ctx))).toContain('field "removed" must be true or false, got "yes"')
    expect(await protocolError(backend.getConfig('a', ctx))).toContain('field "value" must be present')
    expect(await protocolError(backend.getConfig('b', ctx))).toContain('field "version" must be a decimal string >= 1, got "v3"')
    expect(await protocolError(backend.getConfig('c', ctx))).toContain('X-Governance-Index header')
    expect(await protocolError(backend.putConfig!('d', 1, { ifVersion: '2' }, ctx))).toContain('field "error.currentVersion"')
    const batch = { batchId: 'b1', service: 'orders', instance: 'o-1', timestamp: 1, points: [] }
    expect(await protocolError(backend.createMetricSink!().export(batch, ctx))).toContain('field "accepted"')
  })

  it("renew passes on an operator's override, checked, and refuses a malformed one", async () => {
    const lease = { id: 'o-1', service: 'orders', instanceId: 'o-1', ttlMs: 1 }
    net.use(http.put(`${BASE}/v1/services/orders/instances/o-1/heartbeat`, () => HttpResponse.json({ ttlMs: 5000, override: { status: 'DOWN', setAt: 1, extra: true } })))
    expect(await backend.renew(lease, ctx)).toEqual({ ttlMs: 5000, override: { status: 'DOWN' } })
    net.use(http.put(`${BASE}/v1/services/orders/instances/o-1/heartbeat`, () => HttpResponse.json({ ttlMs: 5000, override: { status: 'ASLEEP' } })))
    expect(await protocolError(backend.renew(lease, ctx))).toContain('field "override.status"')
    net.use(http.put(`${BASE}/v1/services/orders/instances/o-1/heartbeat`, () => HttpResponse.json({ ttlMs: 5000, override: { weight: -1 } })))
    expect(await protocolError(backend.renew(lease, ctx))).toContain('field "override.weight"')
  })

  it('a watch reports a malformed answer through watcher.error and recovers', async () => {
    let broken = true
    net.use(http.get(`${BASE}/v1/services/orders`, () => (broken ? HttpResponse.text('<html>proxy error</html>') : undefined)))
    const rec = watchRecorder<ServiceSnapshot>()
    backend.watchService!('orders', rec)
    const first = await rec.take()
    expect(first.kind).toBe('error')
    expect(first.kind === 'error' && first.error).toBeInstanceOf(ProtocolError)
    broken = false
    const value = await rec.takeValue()
    expect(value.value).toMatchObject({ service: 'orders', instances: [] })
  })
})

describe('protocol behaviour', () => {
  it('a 404 heartbeat is LeaseLostError', async () => {
    const lease = { id: 'o-1', service: 'orders', instanceId: 'o-1', ttlMs: 1 }
    const err = await backend.renew(lease, ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LeaseLostError)
    expect(err).toMatchObject({ status: 404, details: { service: 'orders', instanceId: 'o-1' } })
    await backend.register(spec, ctx)
    await expect(backend.renew(lease, ctx)).resolves.toEqual({ ttlMs: 15_000 })
  })

  it("a lost compare-and-set is ConflictError carrying the server's current version", async () => {
    const v = await backend.putConfig!('k', 1, {}, ctx)
    const err = await backend.putConfig!('k', 2, { ifVersion: '1' }, ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConflictError)
    expect(err).toMatchObject({ details: { key: 'k', ifVersion: '1', currentVersion: v.version } })
    expect((err as Error).message).toContain(`expected version 1, but its version is ${v.version}`)
  })

  it('path segments are encoded, and names are checked before any call', async () => {
    let path = ''
    net.use(http.get(`${BASE}/v1/config/*`, ({ request }) => ((path = new URL(request.url).pathname), HttpResponse.json({ key: 'app:db.pool', value: 1, version: '2', index: '2' }))))
    await backend.getConfig('app:db.pool', ctx)
    expect(path).toBe('/v1/config/app%3Adb.pool')
    await expect(backend.getConfig('a b/c', ctx)).rejects.toThrow(/config key "a b\/c" does not match/)
    await expect(backend.resolve('', ctx)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(backend.register({ ...spec, id: '../x' }, ctx)).rejects.toThrow(/instance id "..\/x"/)
    expect(() => backend.watchService!('bad name', watchRecorder())).toThrow(InvalidArgumentError)
    expect(() => backend.watchConfig!('a/b', watchRecorder())).toThrow(InvalidArgumentError)
  })

  it('a watch sees a lower index as a reset (server restarted)', async () => {
    for (let i = 0; i < 5; i++) await backend.register({ ...spec, id: `o-${i}` }, ctx)
    const rec = watchRecorder<ServiceSnapshot>()
    backend.watchService!('orders', rec)
    const before = await rec.takeValue()
    expect(before.value.instances).toHaveLength(5)
    expect(before.meta).toEqual({ revision: '6', reset: false })
    registry.loseAllLeases() // a restarted server
    const after = await rec.takeValue()
    expect(after.meta).toEqual({ revision: '1', reset: true })
    expect(after.value.instances).toEqual([])
  })

  it('a config watch blocks on a missing key until it appears, and resumes after a revision', async () => {
    const rec = watchRecorder<ConfigEntry | undefined>()
    backend.watchConfig!('flags', rec)
    expect(await rec.takeValue()).toEqual({ value: undefined, meta: { revision: '1', reset: false } })
    const written = await backend.putConfig!('flags', { a: true }, {}, ctx)
    expect(await rec.takeValue()).toEqual({ value: written, meta: { revision: written.version, reset: false } })
    const resumed = watchRecorder<ConfigEntry | undefined>()
    backend.watchConfig!('flags', resumed, { afterRevision: written.version })
    await backend.putConfig!('flags', { a: false }, {}, ctx)
    expect((await resumed.takeValue()).value).toMatchObject({ value: { a: false } })
  })

  it('a blocking query sends index and wait, with a deadline above the wait', async () => {
    const urls: string[] = []
    net.use(http.get(`${BASE}/v1/services/orders`, ({ request }) => void urls.push(new URL(request.url).search)))
    // A wait far longer than the request timeout: the query must neither time out at 1 s nor
    // run until the wait is over, but answer as soon as the service changes.
    const watching = httpBackend({ server: BASE, watchWaitMs: 20_000, requestTimeoutMs: 1_000 })
    try {
      const rec = watchRecorder<ServiceSnapshot>()
      watching.watchService!('orders', rec, { afterRevision: '1' })
      const start = Date.now()
      await watching.putConfig!('unrelated', 1, {}, ctx) // wakes nothing on the service
      await new Promise((r) => setTimeout(r, 1_500)) // past the request timeout, with the query held
      await watching.register(spec, ctx)
      const { meta } = await rec.takeValue()
      expect(urls[0]).toBe('?index=1&wait=20s')
      expect(urls).toHaveLength(1) // one query, held throughout: no timeout and no retry
      expect(BigInt(meta.revision)).toBeGreaterThan(1n)
      expect(rec.errors).toEqual([])
      expect(Date.now() - start).toBeLessThan(10_000)
    } finally {
      await watching.close()
    }
  })

  it('rejects bad options and arguments', () => {
    expect(() => httpBackend({ server: [] })).toThrow(InvalidArgumentError)
    expect(() => httpBackend({ server: 'gov.test' })).toThrow(/^http\.server must be a valid URL, got "gov\.test"/)
    expect(() => httpBackend({ server: BASE, watchWaitMs: 301_000 })).toThrow(/^http\.watchWaitMs must be an integer \(ms\) from 1 to 300000, got 301000/)
    expect(() => httpBackend({ server: BASE, watchGraceMs: 0 })).toThrow(/^http\.watchGraceMs must be a positive integer \(ms\), got 0/)
    expect(() => httpBackend({ server: BASE, heldConnections: 0 })).toThrow(/^http\.heldConnections must be a positive integer, got 0/)
    expect(() => httpBackend({ server: BASE, breaker: { maxCooldownMs: -1 } })).toThrow(/breaker\.maxCooldownMs/)
    expect(() => httpBackend({ server: BASE, watchWaitMS: 5 } as never)).toThrow(/^http\.watchWaitMS is not an option/)
    expect(() => httpBackend({ server: BASE, logger: 'quiet' as never })).toThrow(/^http\.logger must be an object with debug, info, warn and error methods, or false/)
    expect(() => httpBackend({ server: BASE, logger: { ...console, error: undefined } as never })).toThrow(/logger\.error must be a function/)
    expect(() => backend.watchService!('orders', watchRecorder(), { afterRevision: 'x' })).toThrow(InvalidArgumentError)
  })
})
