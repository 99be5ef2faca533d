import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { outlierEjection, roundRobin, type Balancer, type PickerContext } from '../../src/balancer/index.js'
import { OutlierDetector, type EjectionHost } from '../../src/balancer/outlier-ejection.js'
import { StatsTable } from '../../src/balancer/stats.js'
import { createDiscovery, resolveDiscoveryOptions, type Discovery } from '../../src/discovery/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { Instance } from '../../src/types.js'

describe('outlier detector', () => {
  const instances = ['x', 'y', 'z', 'w'].map((id, i): Instance => ({ id, service: 's', address: '10.0.0.1', port: 9000 + i, status: 'UP', metadata: {}, tags: [], weight: 1 }))

  function detector(options: Partial<{ consecutiveFailures: number; maxEjectionPercent: number }> = {}) {
    let now = 0
    let changes = 0
    const table = new StatsTable()
    for (const i of instances) table.of(i)
    const d = new OutlierDetector(
      { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 2_500, maxEjectionPercent: 50, ...options },
      table,
      () => now,
      () => instances.length,
      () => changes++,
    )
    return { d, table, advance: (ms: number) => (now += ms), changes: () => changes, stats: (id: string) => table.get(id)! }
  }

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('ejects after consecutive failures; a success resets the count', () => {
    const { d, stats, changes } = detector()
    const x = stats('x')
    x.outcome(true)
    x.outcome(true)
    x.outcome(false)
    x.outcome(true)
    x.outcome(true)
    expect(x.ejectedUntil).toBe(0)
    x.outcome(true)
    expect(x.ejectedUntil).toBe(1_000)
    expect(changes()).toBe(1)
  })

  it('ejects for a growing time, capped, and returns the instance when it is over', () => {
    const { d, stats, advance } = detector()
    const x = stats('x')
    const fail = (n: number) => Array.from({ length: n }, () => x.outcome(true))
    fail(3)
    expect(x.ejectedUntil).toBe(1_000)
    advance(1_000)
    vi.advanceTimersByTime(1_000)
    expect(x.ejectedUntil).toBe(0)
    fail(3)
    expect(x.ejectedUntil).toBe(1_000 + 2_000)
    advance(2_000)
    vi.advanceTimersByTime(2_000)
    fail(3)
    expect(x.ejectedUntil - 3_000).toBe(2_500) // capped at maxEjectionMs
    d.close()
  })

  it('never ejects more than maxEjectionPercent, and never the last instance', () => {
    const { d, stats } = detector({ maxEjectionPercent: 50 })
    for (const id of ['x', 'y', 'z']) for (let i = 0; i < 3; i++) stats(id).outcome(true)
    expect(['x', 'y', 'z'].filter((id) => stats(id).ejectedUntil !== 0)).toEqual(['x', 'y'])
    const all = detector({ maxEjectionPercent: 100 })
    for (const id of ['x', 'y', 'z', 'w']) for (let i = 0; i < 3; i++) all.stats(id).outcome(true)
    expect(['x', 'y', 'z', 'w'].filter((id) => all.stats(id).ejectedUntil !== 0)).toHaveLength(3)
    d.close()
    all.d.close()
  })
})

describe('outlierEjection(child): a balancer wrapping another', () => {
  const instances = ['x', 'y', 'z'].map((id, i): Instance => Object.freeze({ id, service: 's', address: '10.0.0.2', port: 9100 + i, status: 'UP', metadata: {}, tags: [], weight: 1 }))

  function host(table: StatsTable): EjectionHost {
    const detectors = new Map<object, OutlierDetector>()
    return {
      load: (i) => table.of(i),
      random: () => 0,
      ejector: (options) => {
        let d = detectors.get(options)
        if (d === undefined) detectors.set(options, (d = new OutlierDetector(options, table, () => 0, () => instances.length, () => {})))
        return d
      },
    }
  }

  it('hands its child only the instances not ejected', () => {
    const table = new StatsTable()
    const balancer = outlierEjection(roundRobin(), { consecutiveFailures: 2, maxEjectionPercent: 50 })
    const context = host(table)
    balancer.build(instances, context) // creates the service's detector
    table.of(instances[1]!).outcome(true)
    table.of(instances[1]!).outcome(true)
    const picker = balancer.build(instances, context)
    const seen = new Set(Array.from({ length: 12 }, () => picker.pick()?.id))
    expect(seen).toEqual(new Set(['x', 'z']))
    expect(balancer.name).toBe('outlier-ejection(round-robin)')
  })

  it('ejects nothing under a context that keeps no ejection state', () => {
    const plain: PickerContext = { load: () => ({ inflight: 0, latencyMs: 0 }), random: () => 0 }
    const picker = outlierEjection(roundRobin()).build(instances, plain)
    expect(new Set(Array.from({ length: 6 }, () => picker.pick()?.id))).toEqual(new Set(['x', 'y', 'z']))
  })

  it('refuses a child that is no strategy and a bad option, naming it', () => {
    expect(() => outlierEjection({} as unknown as Balancer)).toThrow(InvalidArgumentError)
    expect(() => outlierEjection('round-robin', { consecutiveFailures: 0 })).toThrow(/outlierEjection\(\) options\.consecutiveFailures must be a positive integer, got 0/)
    expect(() => outlierEjection('round-robin', { consecutivefailures: 3 } as never)).toThrow(/consecutivefailures is not an option/)
  })
})

describe('outlier ejection in discovery', () => {
  const open: Discovery[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()))
  })

  async function warm(outlier: false | { consecutiveFailures: number }) {
    const backend = createMemoryBackend()
    for (const [id, port] of [['a', 1], ['b', 2], ['c', 3]] as const) backend.addInstance({ service: 'pay', id, address: '127.0.0.1', port })
    const discovery = createDiscovery(resolveDiscoveryOptions({ outlier }), { backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000 })
    open.push(discovery)
    await discovery.pick('pay')
    const fail = (id: string, times: number) => {
      const instance = discovery.pickSync('pay', { status: 'any', filter: (i) => i.id === id })!
      for (let k = 0; k < times; k++) discovery.routingSource.statsOf('pay', instance).outcome(true)
    }
    const offered = (options?: Parameters<Discovery['pickSync']>[1]) => new Set(Array.from({ length: 30 }, () => discovery.pickSync('pay', options)?.id))
    return { discovery, fail, offered }
  }

  it('the `outlier` option wraps every pick, a strategy given per call included', async () => {
    const { fail, offered } = await warm({ consecutiveFailures: 2 })
    fail('b', 2)
    expect(offered()).toEqual(new Set(['a', 'c']))
    expect(offered({ strategy: 'random' })).toEqual(new Set(['a', 'c']))
  })

  it('with `outlier: false`, only a strategy wrapped in outlierEjection() ejects', async () => {
    const { fail, offered } = await warm(false)
    const ejecting = outlierEjection(roundRobin(), { consecutiveFailures: 2, maxEjectionPercent: 50 })
    offered({ strategy: ejecting }) // builds its picker, and so the service's detector
    fail('c', 2)
    expect(offered({ strategy: ejecting })).toEqual(new Set(['a', 'b']))
    expect(offered()).toEqual(new Set(['a', 'b', 'c']))
  })
})

describe('ejection and zones', () => {
  it('ejects before the zone preference: a zone whose instances are all ejected spills over', async () => {
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'a1', address: '127.0.0.1', port: 1, zone: 'z1' })
    backend.addInstance({ service: 'pay', id: 'b1', address: '127.0.0.1', port: 2, zone: 'z2' })
    backend.addInstance({ service: 'pay', id: 'b2', address: '127.0.0.1', port: 3, zone: 'z2' })
    const discovery = createDiscovery(resolveDiscoveryOptions({ outlier: { consecutiveFailures: 1 } }), {
      backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000, localZone: 'z1',
    })
    try {
      expect((await discovery.pick('pay')).id).toBe('a1')
      discovery.routingSource.statsOf('pay', discovery.pickSync('pay')!).outcome(true)
      expect(new Set(Array.from({ length: 10 }, () => discovery.pickSync('pay')?.id))).toEqual(new Set(['b1', 'b2']))
    } finally {
      await discovery.close()
    }
  })
})
