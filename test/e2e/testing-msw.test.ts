/**
 * governance-client/testing/msw: protocol v1 served from a test registry to the real
 * client over its real HTTP stack (undici), through msw's socket interceptor. The same
 * faults as in memory, seen through the wire.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { GovernanceClient, ProtocolError, ServerUnavailableError } from '../../src/index.js'
import type { GovernanceClientCommonOptions } from '../../src/options.js'
import type { GovernanceEventName, GovernanceEvents } from '../../src/events.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import { protocolV1Handlers, setupGovernanceMsw, type GovernanceMsw } from '../../src/testing/msw/index.js'

const BASE = 'http://registry.test'
const ORDERS = { name: 'orders', port: 8080, address: '10.0.0.5', id: 'orders-1' }
// Fast re-lists, so that recoveries take milliseconds with real timers.
const FAST = { logger: false as const, heartbeatIntervalMs: 100, discovery: { minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 10, maxDelayMs: 50 } } }

let msw: GovernanceMsw
let registry: TestRegistry
const clients: GovernanceClient[] = []

beforeAll(async () => {
  msw = await setupGovernanceMsw([])
})
afterAll(async () => {
  await msw.close()
})
beforeEach(() => {
  registry = createTestRegistry()
  msw.resetHandlers(...protocolV1Handlers({ baseUrl: BASE, registry }))
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await registry.close()
})

function client(extra: Partial<GovernanceClientCommonOptions> = {}, server = BASE): GovernanceClient {
  const gov = new GovernanceClient({ server, ...FAST, ...extra })
  clients.push(gov)
  return gov
}

function events<K extends GovernanceEventName>(gov: GovernanceClient, name: K): GovernanceEvents[K][] {
  const seen: GovernanceEvents[K][] = []
  gov.on(name, ((payload: GovernanceEvents[K]) => seen.push(payload)) as never)
  return seen
}

const pay = (id: string) => ({ service: 'pay', id, address: `10.0.1.${id.slice(1)}`, port: 9000 })
const ids = (list: readonly { id: string }[]) => list.map((i) => i.id)
const call = (path: string, init?: RequestInit) => fetch(`${BASE}${path}`, init)
const put = (path: string, body: unknown) => call(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('protocolV1Handlers: protocol v1 from a test registry', () => {
  it('answers the registry, config and metrics routes as docs/protocol.md says', async () => {
    registry.addInstance(pay('p1'))
    expect(await (await call('/v1/health')).json()).toEqual({ status: 'ok', index: registry.revision() })
    const list = await call('/v1/services/pay')
    expect(list.headers.get('x-governance-index')).toBe(registry.serviceRevision('pay'))
    expect(await list.json()).toMatchObject({ service: 'pay', instances: [{ id: 'p1', status: 'UP', ttlMs: 15_000 }] })

    const reg = await put('/v1/services/orders/instances/o1', { address: '10.0.0.5', port: 8080, ttlMs: 5_000 })
    expect(await reg.json()).toMatchObject({ instance: { id: 'o1', service: 'orders', status: 'UP', weight: 1 }, ttlMs: 5_000 })
    expect((await put('/v1/services/orders/instances/o1/heartbeat', {})).status).toBe(200)
    expect((await put('/v1/services/orders/instances/nobody/heartbeat', {})).status).toBe(404)
    expect(await (await call('/v1/services')).json()).toMatchObject({ services: [{ name: 'orders', instances: 1 }, { name: 'pay', instances: 1 }] })
    expect(await (await call('/v1/services/orders/instances/o1', { method: 'DELETE' })).json()).toMatchObject({ removed: true })

    const missing = await call('/v1/config/flags')
    expect([missing.status, missing.headers.get('x-governance-index')]).toEqual([404, '1'])
    const written = (await (await put('/v1/config/flags', { value: { a: 1 }, ifVersion: '0' })).json()) as { version: string }
    const conflict = await put('/v1/config/flags', { value: 2, ifVersion: '0' })
    expect([conflict.status, await conflict.json()]).toEqual([409, { error: expect.objectContaining({ code: 'conflict', currentVersion: written.version }) }])

    const batch = { batchId: 'b1', service: 'orders', instance: 'o1', timestamp: 1, points: [{ name: 'x_total', kind: 'counter', labels: {}, value: 1 }] }
    const post = () => call('/v1/metrics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) })
    expect([(await post()).status, (await post()).status]).toEqual([202, 200])
    expect(registry.metricPoints('x_total')).toHaveLength(1)
  })

  it('refuses bad requests as the reference server does', async () => {
    expect((await call('/v1/services/bad%2Fname')).status).toBe(400)
    expect((await put('/v1/services/orders/instances/o1', { port: 8080 })).status).toBe(400)
    expect((await call('/v1/services/pay?index=x')).status).toBe(400)
    const wrongMethod = await call('/v1/metrics')
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'POST'])
    expect((await call('/v1/nothing')).status).toBe(404)
  })

  it('holds a blocking query until the resource changes, or until wait elapses', async () => {
    registry.addInstance(pay('p1'))
    const index = registry.serviceRevision('pay')
    const held = call(`/v1/services/pay?index=${index}&wait=10s`)
    await expect.poll(() => registry.openWatches).toBe(1) // the query is held
    registry.addInstance(pay('p2'))
    expect(await (await held).json()).toMatchObject({ instances: [{ id: 'p1' }, { id: 'p2' }] })

    const now = registry.serviceRevision('pay')
    expect(await (await call(`/v1/services/pay?index=${now}&wait=30ms`)).json()).toMatchObject({ index: now })
    registry.resetIndex()
    expect(await (await call(`/v1/services/pay?index=${now}&wait=10s`)).json()).toMatchObject({ index: '1' })
  })

  it('lets no request leave the test: unhandled ones fail (and msw says so)', async () => {
    const said = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      await expect(fetch('http://elsewhere.test/')).rejects.toThrow()
      expect(String(said.mock.calls[0]?.[0])).toContain('without a matching request handler')
    } finally {
      said.mockRestore()
    }
  })
})

describe('the real client over msw', () => {
  it('registers, discovers by push, follows config and pushes metrics; the registry records it all', async () => {
    registry.addInstance(pay('p1'))
    registry.setConfig('orders', { limit: 1 })
    const gov = client({ service: ORDERS })
    await gov.register()
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])
    const seen: unknown[] = []
    gov.config.watch('orders', (value) => seen.push(value))
    await expect.poll(() => seen).toEqual([{ limit: 1 }])

    registry.addInstance(pay('p2'))
    registry.setConfig('orders', { limit: 2 })
    await expect.poll(async () => ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    await expect.poll(() => seen).toEqual([{ limit: 1 }, { limit: 2 }])

    gov.metrics.counter('orders_total').inc(3)
    await gov.metrics.flush()
    expect(registry.metricPoints('orders_total')).toEqual([expect.objectContaining({ value: 3 })])
    expect(registry.registrations[0]?.instance).toMatchObject({ id: 'orders-1', service: 'orders', ttlMs: 15_000 })
    await expect.poll(() => registry.heartbeats.length).toBeGreaterThan(0)
  })

  it('re-registers after the registry loses all leases', async () => {
    const gov = client({ service: ORDERS })
    const registered = events(gov, 'registry:registered')
    await gov.register()
    registry.loseAllLeases()
    await expect.poll(() => registered.map((r) => r.epoch)).toEqual([1, 2])
    expect(registry.instances('orders')).toHaveLength(1)
  })

  it('serves discovery from memory while the registry is unreachable, and recovers', async () => {
    registry.addInstance(pay('p1'))
    const gov = client()
    const stale = events(gov, 'discovery:stale')
    const recovered = events(gov, 'discovery:recovered')
    await gov.discover('pay')
    // Not unreachableFor(): the transport's retries would absorb a short outage.
    registry.setUnreachable(true)
    await expect.poll(() => stale).toEqual([expect.objectContaining({ error: expect.any(ServerUnavailableError) })])
    const during = await gov.discover('pay')
    expect([ids(during), during.source]).toEqual([['p1'], 'memory'])
    registry.setUnreachable(false)
    await expect.poll(() => recovered).toEqual([{ service: 'pay' }])
  })

  it('keeps the last good config when an answer is malformed, then takes the next good one', async () => {
    registry.setConfig('orders', { limit: 1 })
    const gov = client()
    // What the application reads at the moment the garbage arrives.
    const atError: unknown[] = []
    gov.on('error', (error) => void gov.config.get('orders').then((c) => atError.push([error instanceof ProtocolError, c?.value])))
    const seen: unknown[] = []
    gov.config.watch('orders', (value) => seen.push(value))
    await expect.poll(() => seen).toHaveLength(1)
    registry.malformedNext('watchConfig')
    registry.setConfig('orders', { limit: 2 })
    await expect.poll(() => seen, { timeout: 5_000 }).toEqual([{ limit: 1 }, { limit: 2 }])
    expect(atError).toEqual([[true, { limit: 1 }]])
  })

  it('re-lists after an index reset and announces the missed difference with reset: true', async () => {
    registry.addInstance(pay('p1'))
    registry.addInstance(pay('p2'))
    const gov = client()
    const changed = events(gov, 'discovery:changed')
    await gov.discover('pay')
    registry.resetIndex(() => registry.removeInstance('pay', 'p1'))
    await expect.poll(() => changed.map((c) => ({ removed: ids(c.diff.removed), reset: c.reset, revision: c.revision }))).toEqual([
      { removed: ['p1'], reset: true, revision: '1' },
    ])
  })
})
