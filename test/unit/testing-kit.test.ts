/**
 * The testing kit's registry: controls, records and backend views, driven through the
 * real GovernanceClient (fake timers). The faults and the client's reactions are in
 * testing-kit-faults.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ClientClosedError, NotSupportedError, ServerUnavailableError } from '../../src/index.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import { events, ids, ORDERS, pay } from '../fixtures/testing-kit.js'

let registry: TestRegistry

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
  registry = createTestRegistry()
})

afterEach(async () => {
  await registry.close()
  vi.useRealTimers()
})


describe('createTestRegistry: the registry a client talks to', () => {
  it('holds what the client registers, with its lease, and records every call', async () => {
    const gov = registry.client({ service: ORDERS })
    await gov.register()
    expect(registry.instances('orders')).toEqual([expect.objectContaining({ id: 'orders-1', address: '10.0.0.5', status: 'UP' })])
    expect(registry.held('orders', 'orders-1')).toMatchObject({ ttlMs: 15_000 })
    expect(registry.registrations).toEqual([{ instance: expect.objectContaining({ id: 'orders-1', ttlMs: 15_000 }), at: Date.now() }])

    await vi.advanceTimersByTimeAsync(1_000) // heartbeats every 200 ms (less jitter)
    expect(registry.heartbeats.length).toBeGreaterThanOrEqual(5)
    expect(registry.heartbeats.every((h) => h.lease.instanceId === 'orders-1' && h.error === undefined)).toBe(true)

    await gov.close()
    expect(registry.deregistrations).toEqual([expect.objectContaining({ lease: expect.objectContaining({ instanceId: 'orders-1' }) })])
    expect(registry.instances('orders')).toEqual([])
  })

  it('lets the test add and remove other services’ instances, which the client sees by push', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client()
    const changed = events(gov, 'discovery:changed')
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])

    registry.addInstance(pay('p2', { zone: 'b', weight: 3 }))
    registry.removeInstance('pay', 'p1')
    await vi.advanceTimersByTimeAsync(0)
    expect(ids(await gov.discover('pay'))).toEqual(['p2'])
    expect(changed.map((c) => [ids(c.diff.added), ids(c.diff.removed), c.reset])).toEqual([
      [['p2'], [], false],
      [[], ['p1'], false],
    ])
    expect(await gov.pick('pay')).toMatchObject({ id: 'p2', zone: 'b', weight: 3 })
  })

  it('serves config values the test sets, and records reads and watches', async () => {
    registry.setConfig('orders', { limit: 5 })
    const gov = registry.client()
    expect(await gov.config.get('orders')).toMatchObject({ value: { limit: 5 }, source: 'live' })
    expect(await gov.config.get('missing')).toBeUndefined()

    const seen: unknown[] = []
    gov.config.watch('orders', (value) => seen.push(value))
    await vi.advanceTimersByTimeAsync(0)
    registry.setConfig('orders', { limit: 6 })
    registry.deleteConfigKey('orders')
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([{ limit: 5 }, { limit: 6 }, undefined])
    expect(registry.configReads.map((r) => [r.key, r.via])).toEqual([
      ['orders', 'get'],
      ['missing', 'get'],
      ['orders', 'watch'],
    ])
  })

  it('takes config writes with compare-and-set', async () => {
    const gov = registry.client()
    const { version } = await gov.config.put('flags', { a: true }, { ifVersion: '0' })
    expect(registry.peekConfig('flags')).toEqual({ key: 'flags', value: { a: true }, version })
    await expect(gov.config.put('flags', { a: false }, { ifVersion: '0' })).rejects.toMatchObject({ code: 'GOV_CONFLICT' })
  })

  it('receives metric batches: metricBatches and metricPoints', async () => {
    const gov = registry.client({ service: ORDERS })
    gov.metrics.counter('orders_total').inc(2, { channel: 'web' })
    gov.metrics.gauge('queue_depth').set(4)
    await gov.metrics.flush()
    expect(registry.metricBatches).toEqual([expect.objectContaining({ service: 'orders', instance: 'orders-1' })])
    expect(registry.metricPoints('orders_total')).toEqual([{ name: 'orders_total', kind: 'counter', labels: { channel: 'web' }, value: 2 }])
    expect(registry.metricPoints().map((p) => p.name).sort()).toEqual(['orders_total', 'queue_depth'])
  })

  it('forgets its records on clearRecords(), not its state', async () => {
    registry.setConfig('k', 1)
    const gov = registry.client({ service: ORDERS })
    await gov.register()
    await gov.config.get('k')
    gov.metrics.counter('c_total').inc()
    await gov.metrics.flush()
    registry.clearRecords()
    expect([registry.registrations, registry.heartbeats, registry.configReads, registry.metricBatches, registry.calls]).toEqual([[], [], [], [], []])
    expect(registry.instances('orders')).toHaveLength(1)
    expect(registry.peekConfig('k')).toMatchObject({ value: 1 })
  })
})

describe('backend views: several clients on one registry', () => {
  it('lets a peer register and the service under test discover it; closing one client leaves the registry to the other', async () => {
    registry.addInstance(pay('p0'))
    const peer = registry.client({ service: { name: 'pay', port: 9000, address: '10.0.1.1', id: 'pay-1' } })
    const app = registry.client()
    await peer.register()
    expect(ids(await app.discover('pay'))).toEqual(['p0', 'pay-1'])
    const changed = events(app, 'discovery:changed')

    await peer.close() // marks itself DOWN, then deregisters
    await vi.advanceTimersByTimeAsync(0)
    expect(changed.map((c) => [ids(c.diff.changed), ids(c.diff.removed)])).toEqual([
      [['pay-1'], []],
      [[], ['pay-1']],
    ])
    registry.addInstance(pay('p2'))
    await vi.advanceTimersByTimeAsync(0)
    expect(ids(await app.discover('pay'))).toEqual(['p0', 'p2'])
    expect(registry.openWatches).toBe(1)
  })

  it('rejects calls after its own close(), like a real backend', async () => {
    const backend = registry.backend()
    await backend.close()
    await expect(backend.resolve('pay', {})).rejects.toBeInstanceOf(ClientClosedError)
    expect(() => backend.watchService!('pay', { next: () => {}, error: () => {} })).toThrow(ClientClosedError)
    expect(await registry.resolve('pay', {})).toMatchObject({ instances: [] })
  })

  it('push: false makes the client poll', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client({ backend: { push: false }, discovery: { pollIntervalMs: 1_000, maxStalenessMs: 60_000 } })
    expect(gov.backend.watchService).toBeUndefined()
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])
    registry.addInstance(pay('p2'))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    expect(registry.count('watchService')).toBe(0)
    expect(registry.count('resolve')).toBe(2)
  })

  it('configWrites: false and metrics: false leave those capabilities out', async () => {
    const gov = registry.client({ backend: { configWrites: false, metrics: false } })
    await expect(gov.config.put('k', 1)).rejects.toBeInstanceOf(NotSupportedError)
    expect(gov.backend.createMetricSink).toBeUndefined()
    expect(registry.backend({ capabilities: { deregister: false } }).capabilities.deregister).toBe(false)
  })

  it('close() of the registry closes the clients it made', async () => {
    const gov = registry.client({ service: ORDERS })
    await gov.register()
    registry.setUnreachable(true) // faults are cleared first, so the goodbye still gets through
    await registry.close()
    await expect(gov.discover('pay')).rejects.toBeInstanceOf(ClientClosedError)
    expect(registry.deregistrations).toHaveLength(1)
    expect(registry.deregistrations[0]?.error).toBeUndefined()
  })
})

describe('the memory backend under the kit', () => {
  it('answers a watch that resumes after a revision it never reached as a reset (it was reset meanwhile)', async () => {
    registry.addInstance(pay('p1'))
    const seen: { ids: string[]; reset: boolean }[] = []
    registry.watchService('pay', { next: (s, m) => seen.push({ ids: ids(s.instances), reset: m.reset }), error: () => {} }, { afterRevision: '999' })
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([{ ids: ['p1'], reset: true }])
  })

  it('records a failed call with its error', async () => {
    registry.failNext('register')
    const gov = registry.client({ service: ORDERS })
    const registering = gov.register()
    await vi.advanceTimersByTimeAsync(1_000)
    await registering
    expect(registry.registrations.map((r) => r.error)).toEqual([expect.any(ServerUnavailableError), undefined])
  })
})
