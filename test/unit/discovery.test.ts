/** Discovery's cache: watch-fed freshness, events, no going back, filters, bounds, arguments and close. */
import { describe, expect, it, vi } from 'vitest'
import { resolveDiscoveryOptions, type Discovery } from '../../src/discovery/index.js'
import { ClientClosedError, InvalidArgumentError } from '../../src/errors.js'
import { resolveRoutingOptions } from '../../src/routing/index.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import { add, inst, open, scripted, setup, fakeTimersPerTest } from '../fixtures/scripted-discovery-backend.js'


/** Counts live watch subscriptions of a memory backend. */
function countWatches(backend: MemoryBackend): () => number {
  let active = 0
  const original = backend.watchService.bind(backend)
  backend.watchService = (service, watcher, options) => {
    active++
    const stop = original(service, watcher, options)
    let stopped = false
    return () => {
      if (!stopped) active--
      stopped = true
      stop()
    }
  }
  return () => active
}


const settle = () => vi.advanceTimersByTimeAsync(0)

fakeTimersPerTest()

describe('discover: cache kept fresh by a watch', () => {
  it('answers the UP instances as a frozen array that tells age, source and revision', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    add(backend, 'a2', { status: 'DOWN' })
    const { discovery } = setup({}, backend)
    const list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['a1'])
    expect(list).toEqual([expect.objectContaining({ id: 'a1' })])
    expect(Object.isFrozen(list)).toBe(true)
    expect(list.ageMs).toBe(0)
    expect(list.source).toBe('live')
    expect(list.revision).toMatch(/^\d+$/)
    expect(JSON.stringify(list)).toBe(JSON.stringify([list[0]]))
  })

  it('shares one request among concurrent misses', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    backend.faults.delay('resolve', 50)
    const { discovery } = setup({}, backend)
    const all = Promise.all(Array.from({ length: 20 }, () => discovery.discover('pay')))
    await vi.advanceTimersByTimeAsync(50)
    const lists = await all
    expect(new Set(lists).size).toBe(1)
    expect(backend.count('resolve')).toBe(1)
  })

  it('takes changes from the watch without the application asking', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery, of } = setup({}, backend)
    await discovery.discover('pay')
    add(backend, 'a2')
    await settle()
    const list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['a1', 'a2'])
    expect(backend.count('resolve')).toBe(1)
    expect(backend.count('watchService')).toBe(1)
    expect(of('discovery:changed')).toEqual([
      expect.objectContaining({ service: 'pay', reset: false, diff: { added: [expect.objectContaining({ id: 'a2' })], removed: [], changed: [] } }),
    ])
  })

  it('answers the same object on the hot path until something changes', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery } = setup({}, backend)
    const first = await discovery.discover('pay')
    expect(await discovery.discover('pay')).toBe(first)
    add(backend, 'a2')
    const next = await discovery.discover('pay')
    expect(next).not.toBe(first)
    expect(next.map((i) => i.id)).toEqual(['a1', 'a2'])
    // The old answer says it was superseded.
    expect(first.source).toBe('memory')
  })

  it('coalesces a burst of changes into one event per minNotifyIntervalMs with the latest state', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery, of } = setup({ minNotifyIntervalMs: 1_000 }, backend)
    await discovery.discover('pay')
    add(backend, 'a2') // leading edge: announced at once
    add(backend, 'a3')
    add(backend, 'a4', { status: 'DOWN' })
    add(backend, 'a1', { weight: 5 })
    backend.removeInstance('pay', 'a3')
    expect(of('discovery:changed')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(of('discovery:changed')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    const events = of('discovery:changed')
    expect(events).toHaveLength(2)
    const last = events[1]!
    expect(last.diff.added.map((i) => i.id)).toEqual(['a4'])
    expect(last.diff.changed.map((i) => [i.id, i.weight])).toEqual([['a1', 5]])
    expect(last.diff.removed).toEqual([])
    expect(last.instances.map((i) => i.id)).toEqual(['a1', 'a2', 'a4'])
  })

  it('never goes back to an older revision from the watch', async () => {
    const { backend, script } = scripted({ service: 'pay', revision: '10', instances: [inst('a')] })
    const { discovery } = setup({}, backend)
    await discovery.discover('pay')
    expect(script.watches).toEqual(['10'])
    script.push({ service: 'pay', revision: '12', instances: [inst('a'), inst('b')] })
    script.push({ service: 'pay', revision: '11', instances: [inst('a')] })
    script.push({ service: 'pay', revision: '12', instances: [] })
    const list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['a', 'b'])
    expect(list.revision).toBe('12')
  })

  it('takes a reset from the watch as a full replacement, with its diff, and keeps watching', async () => {
    const { backend, script } = scripted({ service: 'pay', revision: '40', instances: [inst('a'), inst('b')] })
    const { discovery, of } = setup({ minNotifyIntervalMs: 0 }, backend)
    await discovery.discover('pay')
    script.push({ service: 'pay', revision: '2', instances: [inst('b'), inst('c')] }, true)
    let list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['b', 'c'])
    expect(list.revision).toBe('2')
    const changed = of('discovery:changed')
    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatchObject({ reset: true, revision: '2' })
    expect(changed[0]!.diff.added.map((i) => i.id)).toEqual(['c'])
    expect(changed[0]!.diff.removed.map((i) => i.id)).toEqual(['a'])
    script.push({ service: 'pay', revision: '3', instances: [inst('c')] })
    list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['c'])
  })

  it('after a memory backend index reset (server restart), keeps following later changes', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery } = setup({ minNotifyIntervalMs: 0 }, backend)
    await discovery.discover('pay')
    add(backend, 'a2')
    add(backend, 'a3')
    backend.resetIndex()
    add(backend, 'a4') // revision 2 now, below what the client had before the reset
    await settle()
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['a1', 'a2', 'a3', 'a4'])
  })
})

describe('filters', () => {
  it('filters by status, tags, metadata, zone (with spill-over) and a function', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1', { tags: ['http', 'v2'], metadata: { version: '2' }, zone: 'eu-1a' })
    add(backend, 'a2', { tags: ['http'], metadata: { version: '1' }, zone: 'eu-1b' })
    add(backend, 'a3', { status: 'STARTING', zone: 'eu-1a' })
    const { discovery } = setup({}, backend)
    const ids = async (o: Parameters<Discovery['discover']>[1]) => (await discovery.discover('pay', o)).map((i) => i.id)
    expect(await ids(undefined)).toEqual(['a1', 'a2'])
    expect(await ids({ status: 'any' })).toEqual(['a1', 'a2', 'a3'])
    expect(await ids({ status: ['STARTING'] })).toEqual(['a3'])
    expect(await ids({ tags: ['v2'] })).toEqual(['a1'])
    expect(await ids({ metadata: { version: '1' } })).toEqual(['a2'])
    expect(await ids({ zone: 'eu-1b' })).toEqual(['a2'])
    expect(await ids({ zone: 'us-1' })).toEqual(['a1', 'a2'])
    expect(await ids({ filter: (i) => i.port > 8001 })).toEqual(['a2'])
    expect(await ids({ filter: () => { throw new Error('bad filter') } })).toEqual([])
    await expect(discovery.discover('pay', { status: ['NOPE' as 'UP'] })).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('honours a configured defaultFilter', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1', { tags: ['canary'] })
    add(backend, 'a2')
    const { discovery } = setup({ defaultFilter: { tags: ['canary'] } }, backend)
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['a1'])
  })
})

describe('cache bounds and idle watches', () => {
  it('drops the watch of a service not asked for in idleWatchMs, and watches again on demand', async () => {
    const backend = createMemoryBackend()
    const watches = countWatches(backend)
    add(backend, 'a1')
    const { discovery } = setup({ idleWatchMs: 10_000 }, backend)
    await discovery.discover('pay')
    expect(watches()).toBe(1)
    await vi.advanceTimersByTimeAsync(8_000)
    await discovery.discover('pay') // still in use
    await vi.advanceTimersByTimeAsync(8_000)
    expect(watches()).toBe(1)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(watches()).toBe(0)
    await discovery.discover('pay')
    expect(watches()).toBe(1)
    expect(backend.count('resolve')).toBe(2)
  })

  it('keeps at most cacheSize services (least recently used go, with their watch)', async () => {
    const backend = createMemoryBackend()
    const watches = countWatches(backend)
    const { discovery } = setup({ cacheSize: 2 }, backend)
    await discovery.discover('a')
    await discovery.discover('b')
    await discovery.discover('a')
    await discovery.discover('c')
    expect(watches()).toBe(2)
    expect(backend.count('resolve')).toBe(3)
    await discovery.discover('a')
    expect(backend.count('resolve')).toBe(3)
    await discovery.discover('b')
    expect(backend.count('resolve')).toBe(4)
  })
})

describe('arguments, options and close', () => {
  it('validates options eagerly, naming the option and the value', () => {
    expect(() => resolveDiscoveryOptions({ cacheSize: 0 })).toThrow(/discovery\.cacheSize.*got 0/)
    expect(() => resolveDiscoveryOptions({ staleIfErrorMs: -1 })).toThrow(InvalidArgumentError)
    expect(() => resolveDiscoveryOptions({ defaultBalancer: 'fastest' as 'random' })).toThrow(/discovery\.defaultBalancer.*"fastest"/)
    expect(() => resolveDiscoveryOptions({ outlier: { maxEjectionPercent: 101 } })).toThrow(/discovery\.outlier\.maxEjectionPercent/)
    expect(() => resolveDiscoveryOptions({ defaultFilter: { status: ['UP', 'UPP' as 'UP'] } })).toThrow(/defaultFilter\.status/)
    // `discovery.routing` is resolved by routing, as the client does.
    expect(() => resolveRoutingOptions({ serviceHost: 'x' as unknown as () => undefined })).toThrow(/discovery\.routing\.serviceHost/)
    const d = resolveDiscoveryOptions(undefined)
    expect(d).toMatchObject({ cacheSize: 1_000, maxStalenessMs: 30_000, staleIfErrorMs: 300_000, minNotifyIntervalMs: 250, emptyProtectionMs: 15_000 })
    expect(resolveDiscoveryOptions({ staleIfErrorMs: Infinity, emptyProtection: false }).emptyProtectionMs).toBe(0)
  })

  it('rejects bad arguments without throwing synchronously', async () => {
    const { discovery } = setup()
    const call = discovery.discover('' as string)
    await expect(call).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', { maxStalenessMs: -5 })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', { strategy: 'nope' as 'random' })).toBeUndefined()
  })

  it('lets a caller stop waiting with its signal', async () => {
    const backend = createMemoryBackend()
    backend.faults.delay('resolve', 1_000)
    const { discovery } = setup({}, backend)
    const controller = new AbortController()
    const call = discovery.discover('pay', { signal: controller.signal })
    controller.abort(new Error('caller gave up'))
    await expect(call).rejects.toThrow('caller gave up')
  })

  it('close stops every watch and timer, is idempotent, and later calls fail with ClientClosedError', async () => {
    const backend = createMemoryBackend()
    const watches = countWatches(backend)
    add(backend, 'a1')
    const { discovery } = setup({ pollIntervalMs: 1_000 }, backend)
    await discovery.discover('pay')
    await discovery.discover('other')
    const closing = discovery.close()
    expect(discovery.close()).toBe(closing)
    await closing
    expect(watches()).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    await expect(discovery.discover('pay')).rejects.toBeInstanceOf(ClientClosedError)
    expect(discovery.pickSync('pay')).toBeUndefined()
  })
})
