/**
 * Each fault the testing kit injects, and the real GovernanceClient's reaction to it
 * (fake timers): lost leases, outages, index resets and compactions, malformed, empty and
 * slow answers, errors for the next calls.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LeaseLostError, ProtocolError, ServerUnavailableError, TimeoutError } from '../../src/index.js'
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

/** Settles a promise while fake time passes, without awaiting it first. */
function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  )
  return state
}


describe('lost leases (a registry restart)', () => {
  it('the client registers again at once and starts a new epoch', async () => {
    const gov = registry.client({ service: ORDERS })
    const lost = events(gov, 'registry:leaseLost')
    const registered = events(gov, 'registry:registered')
    await gov.register()

    registry.loseAllLeases()
    expect(registry.instances('orders')).toEqual([])
    await vi.advanceTimersByTimeAsync(200) // the next heartbeat finds the lease gone

    expect(lost).toEqual([{ service: 'orders', instanceId: 'orders-1', epoch: 1, reason: 'server' }])
    expect(registered.map((r) => r.epoch)).toEqual([1, 2])
    expect(gov.epoch).toBe(2)
    expect(registry.instances('orders')).toHaveLength(1)
    expect(registry.heartbeats.find((h) => h.error)?.error).toBeInstanceOf(LeaseLostError)
    expect(registry.registrations.filter((r) => !r.error)).toHaveLength(2)
  })

  it('a watching client sees the lost instance go with reset: true, then come back when its owner re-registers', async () => {
    registry.addInstance(pay('p1'))
    const peer = registry.client({ service: { name: 'pay', port: 9000, address: '10.0.1.2', id: 'p2' }, heartbeatIntervalMs: 1_000 })
    await peer.register()
    const app = registry.client()
    expect(ids(await app.discover('pay'))).toEqual(['p1', 'p2'])
    const changed = events(app, 'discovery:changed')

    registry.loseAllLeases()
    await vi.advanceTimersByTimeAsync(0)
    expect(changed.map((c) => ({ removed: ids(c.diff.removed), added: ids(c.diff.added), reset: c.reset, revision: c.revision }))).toEqual([
      { removed: ['p2'], added: [], reset: true, revision: '1' },
    ])
    await vi.advanceTimersByTimeAsync(1_000) // the peer's heartbeat: 404, re-registered
    expect(changed.slice(1).map((c) => ({ added: ids(c.diff.added), reset: c.reset }))).toEqual([{ added: ['p2'], reset: false }])
    expect(ids(await app.discover('pay'))).toEqual(['p1', 'p2'])
  })
})

describe('unreachable for a while', () => {
  it('discovery serves the last instances from memory (stale-if-error), then recovers', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client()
    const stale = events(gov, 'discovery:stale')
    const recovered = events(gov, 'discovery:recovered')
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])

    registry.unreachableFor(5_000)
    await vi.advanceTimersByTimeAsync(1_000)
    const during = await gov.discover('pay')
    expect([ids(during), during.source]).toEqual([['p1'], 'memory'])
    expect(stale).toEqual([expect.objectContaining({ service: 'pay', error: expect.any(ServerUnavailableError) })])
    expect(await gov.pick('pay')).toMatchObject({ id: 'p1' })

    await vi.advanceTimersByTimeAsync(10_000) // reachable after 5 s; the re-list backs off at most 5 s
    expect(recovered).toEqual([{ service: 'pay' }])
    expect((await gov.discover('pay')).source).toBe('live')
    expect(stale).toHaveLength(1)
  })

  it('discover() fails once the snapshot is older than staleIfErrorMs; heartbeats fail and the lease is declared lost at the deadline', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client({ service: ORDERS, heartbeatIntervalMs: 1_000, ttlMs: 5_000, discovery: { staleIfErrorMs: 2_000 } })
    const renewFailed = events(gov, 'registry:renewFailed')
    const lost = events(gov, 'registry:leaseLost')
    await gov.register()
    await gov.discover('pay')

    registry.unreachableFor(60_000)
    await vi.advanceTimersByTimeAsync(2_500)
    await expect(gov.discover('pay')).rejects.toBeInstanceOf(ServerUnavailableError)
    expect(renewFailed[0]?.error).toBeInstanceOf(ServerUnavailableError)
    await vi.advanceTimersByTimeAsync(3_000)
    expect(lost).toEqual([expect.objectContaining({ epoch: 1, reason: 'deadline' })])
  })
})

describe('index reset and compaction', () => {
  it('after an index reset the client re-lists and announces the missed difference with reset: true', async () => {
    registry.addInstance(pay('p1'))
    registry.addInstance(pay('p2'))
    const gov = registry.client()
    const changed = events(gov, 'discovery:changed')
    const before = await gov.discover('pay')

    registry.resetIndex(() => {
      registry.removeInstance('pay', 'p2')
      registry.addInstance(pay('p3'))
    })
    await vi.advanceTimersByTimeAsync(0)

    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatchObject({ service: 'pay', reset: true, revision: '1' })
    expect([ids(changed[0]!.diff.added), ids(changed[0]!.diff.removed), ids(changed[0]!.diff.changed)]).toEqual([['p3'], ['p2'], []])
    expect(BigInt(before.revision)).toBeGreaterThan(1n)
    const after = await gov.discover('pay')
    expect([ids(after), after.revision]).toEqual([['p1', 'p3'], '1'])

    registry.addInstance(pay('p4')) // the feed goes on from the new, low revision
    await vi.advanceTimersByTimeAsync(0)
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p3', 'p4'])
  })

  it('after a compaction the client re-lists at a revision that does not go back', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client()
    const changed = events(gov, 'discovery:changed')
    const before = await gov.discover('pay')
    registry.compact(() => registry.addInstance(pay('p2')))
    await vi.advanceTimersByTimeAsync(0)
    expect(changed.map((c) => ({ added: ids(c.diff.added), reset: c.reset }))).toEqual([{ added: ['p2'], reset: true }])
    expect(BigInt(changed[0]!.revision)).toBeGreaterThan(BigInt(before.revision))
  })

  it('config watchers get the value again after a reset, and are called back only for a real change', async () => {
    registry.setConfig('orders', { limit: 1 })
    const gov = registry.client()
    const seen: unknown[] = []
    gov.config.watch('orders', (value) => seen.push(value))
    await vi.advanceTimersByTimeAsync(0)
    registry.resetIndex()
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([{ limit: 1 }])
    registry.resetIndex(() => registry.setConfig('orders', { limit: 2 }))
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([{ limit: 1 }, { limit: 2 }])
  })
})

describe('malformed answers', () => {
  it('a watched key keeps its last good value while the feed answers garbage, then takes the next good one', async () => {
    registry.setConfig('orders', { limit: 1 })
    const gov = registry.client()
    const errors = events(gov, 'error')
    const seen: unknown[] = []
    gov.config.watch('orders', (value) => seen.push(value))
    await vi.advanceTimersByTimeAsync(0)

    registry.malformedNext('watchConfig')
    registry.setConfig('orders', { limit: 2 })
    expect(errors).toEqual([expect.any(ProtocolError)])
    expect(await gov.config.get('orders')).toMatchObject({ value: { limit: 1 }, source: 'memory' })
    expect(seen).toEqual([{ limit: 1 }])

    await vi.advanceTimersByTimeAsync(200) // the client re-reads on its backoff (first retry within 200 ms) and watches again
    expect(seen).toEqual([{ limit: 1 }, { limit: 2 }])
  })

  it('an unwatched read falls back to the last good value on disk; without one it throws ProtocolError', async () => {
    vi.useRealTimers() // the snapshot is written with real file I/O
    const dataDir = await mkdtemp(join(tmpdir(), 'gov-kit-'))
    try {
      registry.setConfig('orders', { limit: 1 })
      const first = registry.client({ dataDir })
      const seen: unknown[] = []
      first.config.watch('orders', (value) => seen.push(value))
      await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 10_000 })
      await first.close() // waits for the snapshot write

      const second = registry.client({ dataDir })
      registry.malformedNext('getConfig', 2)
      expect(await second.config.get('orders')).toMatchObject({ value: { limit: 1 }, source: 'snapshot' })
      await expect(second.config.get('other')).rejects.toBeInstanceOf(ProtocolError)
    } finally {
      await registry.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('a malformed service list breaks the watch: the client keeps its instances and re-lists', async () => {
    registry.addInstance(pay('p1'))
    const gov = registry.client()
    const stale = events(gov, 'discovery:stale')
    await gov.discover('pay')
    registry.malformedNext('watchService')
    registry.malformedNext('resolve')
    registry.addInstance(pay('p2'))
    expect(stale).toEqual([expect.objectContaining({ error: expect.any(ProtocolError) })])
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])
    await vi.advanceTimersByTimeAsync(6_000)
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
  })
})

describe('empty answers', () => {
  it('empty protection keeps the served instances while the registry briefly answers nothing (source protected)', async () => {
    registry.addInstance(pay('p1'))
    registry.addInstance(pay('p2')) // two vanishing at once: a sign of lost data, not a leave
    const gov = registry.client({ discovery: { emptyProtection: { holdMs: 10_000 } } })
    const changed = events(gov, 'discovery:changed')
    await gov.discover('pay')

    registry.emptyFor(3_000)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(registry.peekService('pay').instances).toEqual([])
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    expect((await gov.discover('pay')).source).toBe('protected')
    await vi.advanceTimersByTimeAsync(2_000)
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    expect((await gov.discover('pay')).source).toBe('live')
    expect(changed).toEqual([])
  })

  it('an empty answer that lasts longer than holdMs is taken; emptyProtection: false takes it at once', async () => {
    registry.addInstance(pay('p1'))
    registry.addInstance(pay('p2')) // two vanishing at once: a sign of lost data, not a leave
    const guarded = registry.client({ discovery: { emptyProtection: { holdMs: 2_000 } } })
    const unguarded = registry.client({ discovery: { emptyProtection: false } })
    await guarded.discover('pay')
    await unguarded.discover('pay')

    registry.emptyFor(5_000)
    await vi.advanceTimersByTimeAsync(0)
    expect(ids(await unguarded.discover('pay'))).toEqual([])
    expect(ids(await guarded.discover('pay'))).toEqual(['p1', 'p2'])
    await vi.advanceTimersByTimeAsync(2_000)
    expect(ids(await guarded.discover('pay'))).toEqual([])
    await vi.advanceTimersByTimeAsync(3_000)
    expect(ids(await guarded.discover('pay'))).toEqual(['p1', 'p2'])
    expect(ids(await unguarded.discover('pay'))).toEqual(['p1', 'p2'])
  })

  it('emptyNext: one poll answers nothing and empty protection rides it out; one read answers no value', async () => {
    registry.addInstance(pay('p1'))
    registry.addInstance(pay('p2')) // two vanishing at once: a sign of lost data, not a leave
    registry.setConfig('orders', 1)
    const gov = registry.client({ backend: { push: false }, discovery: { pollIntervalMs: 1_000, maxStalenessMs: 60_000 } })
    const changed = events(gov, 'discovery:changed')
    await gov.discover('pay')

    registry.emptyNext('resolve')
    await vi.advanceTimersByTimeAsync(1_000) // this poll answers nothing
    expect(registry.count('resolve')).toBe(2)
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    await vi.advanceTimersByTimeAsync(1_000) // the next one answers the real set again
    expect(ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    expect(changed).toEqual([])

    registry.emptyNext('getConfig')
    expect(await gov.config.get('orders')).toBeUndefined()
    expect(await gov.config.get('orders')).toMatchObject({ value: 1 })
  })
})

describe('slow answers and errors for the next calls', () => {
  it('a slow answer times out at the client’s request deadline; a merely slow one arrives', async () => {
    registry.setConfig('orders', 1)
    const gov = registry.client({ requestTimeoutMs: 1_000 })
    registry.slow('getConfig', 5_000)
    const slow = track(gov.config.get('orders'))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(slow.error).toBeInstanceOf(TimeoutError)

    registry.slow('getConfig', 500)
    const late = track(gov.config.get('orders'))
    await vi.advanceTimersByTimeAsync(499)
    expect(late.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(late.value).toMatchObject({ value: 1 })
  })

  it('heartbeats that time out are reported as renewFailed, and recover when the registry speeds up', async () => {
    const gov = registry.client({ service: ORDERS, heartbeatIntervalMs: 1_000, requestTimeoutMs: 500 })
    const renewFailed = events(gov, 'registry:renewFailed')
    const renewed = events(gov, 'registry:renewed')
    await gov.register()
    registry.slow('renew', 2_000)
    await vi.advanceTimersByTimeAsync(1_600)
    expect(renewFailed[0]).toMatchObject({ failures: 1, error: expect.any(TimeoutError) })
    registry.slow('renew', 0)
    const before = renewed.length
    await vi.advanceTimersByTimeAsync(1_500)
    expect(renewed.length).toBeGreaterThan(before)
  })

  it('register() rides out errors for the next N calls', async () => {
    registry.failNext('register', 2)
    const gov = registry.client({ service: ORDERS })
    const renewFailed = events(gov, 'registry:renewFailed')
    const registering = track(gov.register())
    await vi.advanceTimersByTimeAsync(1_000)
    expect([registering.settled, registering.error]).toEqual([true, undefined])
    expect(registry.registrations.map((r) => r.error?.code)).toEqual(['GOV_SERVER_UNAVAILABLE', 'GOV_SERVER_UNAVAILABLE', undefined])
    expect(renewFailed.map((r) => r.failures)).toEqual([1, 2])
  })

  it('a failed metrics export is retried with the same batch, which the registry keeps once', async () => {
    const gov = registry.client({ service: ORDERS, metrics: { retry: { minDelayMs: 100, maxDelayMs: 100 } } })
    const failed = events(gov, 'metrics:exportFailed')
    const exported = events(gov, 'metrics:exported')
    registry.failNext('exportMetrics')
    gov.metrics.counter('orders_total').inc()
    await vi.advanceTimersByTimeAsync(1_000) // the flush interval of registry.client()
    await vi.advanceTimersByTimeAsync(200)
    expect(failed).toHaveLength(1)
    expect(exported.map((e) => e.batchId)).toEqual([failed[0]!.batchId])
    expect(registry.metricPoints('orders_total')).toEqual([expect.objectContaining({ value: 1 })])
  })
})
