import { afterEach, describe, expect, it } from 'vitest'
import { weighted, type Balancer } from '../../src/balancer/index.js'
import { createDiscovery, resolveDiscoveryOptions, type Discovery, type DiscoveryOptions } from '../../src/discovery/index.js'
import { InvalidArgumentError, NoAvailableInstanceError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import type { Instance } from '../../src/types.js'

const open: Discovery[] = []

function setup(backend: MemoryBackend, options: DiscoveryOptions = {}, localZone?: string): Discovery {
  const discovery = createDiscovery(resolveDiscoveryOptions(options), {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
    ...(localZone !== undefined && { localZone }),
  })
  open.push(discovery)
  return discovery
}

function add(backend: MemoryBackend, id: string, extra: Partial<Instance> = {}): Instance {
  return backend.addInstance({ service: 'pay', id, address: '10.0.0.1', port: 8000, ...extra })
}

function tally(pick: () => Instance | undefined, n: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const id = pick()?.id ?? 'none'
    out[id] = (out[id] ?? 0) + 1
  }
  return out
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
})

describe('pick and pickSync', () => {
  it('pickSync is undefined while the cache is cold; pick loads it; then picking is synchronous', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const discovery = setup(backend)
    expect(discovery.pickSync('pay')).toBeUndefined()
    expect((await discovery.pick('pay')).id).toBe('a1')
    expect(discovery.pickSync('pay')?.id).toBe('a1')
    expect(backend.count('resolve')).toBe(1)
  })

  it('round-robins the default pick evenly and follows changes', async () => {
    const backend = createMemoryBackend()
    for (const id of ['a1', 'a2', 'a3']) add(backend, id)
    const discovery = setup(backend)
    await discovery.discover('pay')
    const counts = tally(() => discovery.pickSync('pay'), 9_000)
    expect(counts).toEqual({ a1: 3_000, a2: 3_000, a3: 3_000 })
    add(backend, 'a3', { status: 'DOWN' })
    expect(Object.keys(tally(() => discovery.pickSync('pay'), 100)).sort()).toEqual(['a1', 'a2'])
  })

  it('takes strategies as names or Balancer values', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1', { weight: 1 })
    add(backend, 'a2', { weight: 3 })
    const discovery = setup(backend)
    await discovery.discover('pay')
    expect(tally(() => discovery.pickSync('pay', { strategy: 'weighted' }), 4_000)).toEqual({ a1: 1_000, a2: 3_000 })
    expect(tally(() => discovery.pickSync('pay', { strategy: weighted() }), 400)).toEqual({ a1: 100, a2: 300 })
    const last: Balancer = { name: 'last', build: (set) => ({ pick: () => set[set.length - 1] }) }
    expect((await discovery.pick('pay', { strategy: last })).id).toBe('a2')
    const broken: Balancer = { name: 'broken', build: () => ({ pick: () => { throw new Error('boom') } }) }
    expect(discovery.pickSync('pay', { strategy: broken })).toBeUndefined()
    await expect(discovery.pick('pay', { strategy: 'fastest' as 'random' })).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('rejects with NoAvailableInstanceError when nothing passes the filters', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1', { tags: ['blue'] })
    const discovery = setup(backend)
    await expect(discovery.pick('pay', { tags: ['green'] })).rejects.toBeInstanceOf(NoAvailableInstanceError)
    await expect(discovery.pick('unknown')).rejects.toBeInstanceOf(NoAvailableInstanceError)
    expect(discovery.pickSync('pay', { tags: ['green'] })).toBeUndefined()
  })
})

describe('zones', () => {
  it('prefers the local zone and spills over when it has no healthy instance', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1', { zone: 'eu-1a' })
    add(backend, 'a2', { zone: 'eu-1a' })
    add(backend, 'b1', { zone: 'eu-1b' })
    const discovery = setup(backend, {}, 'eu-1a')
    await discovery.discover('pay')
    expect(Object.keys(tally(() => discovery.pickSync('pay'), 100)).sort()).toEqual(['a1', 'a2'])
    expect(Object.keys(tally(() => discovery.pickSync('pay', { zone: 'eu-1b' }), 100))).toEqual(['b1'])
    expect(Object.keys(tally(() => discovery.pickSync('pay', { zone: false }), 300)).sort()).toEqual(['a1', 'a2', 'b1'])
    // The local zone loses its healthy instances: traffic spills to the other zone.
    add(backend, 'a1', { zone: 'eu-1a', status: 'DOWN' })
    add(backend, 'a2', { zone: 'eu-1a', status: 'OUT_OF_SERVICE' })
    expect(Object.keys(tally(() => discovery.pickSync('pay'), 100))).toEqual(['b1'])
    // …and comes back when they do.
    add(backend, 'a2', { zone: 'eu-1a' })
    expect(Object.keys(tally(() => discovery.pickSync('pay'), 100))).toEqual(['a2'])
  })
})
