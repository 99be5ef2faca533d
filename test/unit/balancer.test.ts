import { describe, expect, it } from 'vitest'
import { leastRequest, random, roundRobin, weighted, type InstanceLoad, type PickerContext } from '../../src/balancer/index.js'
import { balancerFor } from '../../src/balancer/strategy.js'
import type { Instance } from '../../src/types.js'
import { seeded } from '../helpers/seeded-random.js'

function instances(n: number, weights: number[] = []): Instance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`, service: 's', address: '10.0.0.1', port: 1000 + i, status: 'UP' as const,
    metadata: {}, tags: [], weight: weights[i] ?? 1,
  }))
}

function context(random: () => number = seeded(1), loads = new Map<string, { inflight: number; latencyMs: number }>()): PickerContext {
  return { random, load: (i) => loads.get(i.id) ?? { inflight: 0, latencyMs: 0 } }
}

function count(pick: () => Instance | undefined, n: number): Map<string, number> {
  const counts = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const id = pick()!.id
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

describe('round-robin', () => {
  it('spreads 10,000 picks evenly (within 1%)', () => {
    const set = instances(7)
    const picker = roundRobin().build(set, context())
    const counts = count(() => picker.pick(), 10_000)
    expect(counts.size).toBe(7)
    for (const c of counts.values()) expect(Math.abs(c - 10_000 / 7)).toBeLessThanOrEqual(10_000 * 0.01)
  })

  it('visits every instance once per cycle', () => {
    const picker = roundRobin().build(instances(3), context())
    const cycle = new Set([picker.pick()!.id, picker.pick()!.id, picker.pick()!.id])
    expect(cycle.size).toBe(3)
  })

  it('answers undefined for an empty set instead of throwing', () => {
    expect(roundRobin().build([], context()).pick()).toBeUndefined()
    expect(random().build([], context()).pick()).toBeUndefined()
    expect(weighted().build([], context()).pick()).toBeUndefined()
    expect(leastRequest().build([], context()).pick()).toBeUndefined()
  })
})

describe('weighted', () => {
  it('honours weights within 3% (smooth, small sets)', () => {
    const picker = weighted().build(instances(3, [1, 2, 7]), context())
    const counts = count(() => picker.pick(), 10_000)
    expect(counts.get('i0')! / 10_000).toBeCloseTo(0.1, 1)
    for (const [id, share] of [['i0', 0.1], ['i1', 0.2], ['i2', 0.7]] as const) {
      expect(Math.abs(counts.get(id)! / 10_000 - share)).toBeLessThanOrEqual(0.03 * share)
    }
  })

  it('interleaves heavy instances instead of bunching them', () => {
    const picker = weighted().build(instances(2, [1, 3]), context())
    const seq = Array.from({ length: 8 }, () => picker.pick()!.id)
    expect(seq.filter((id) => id === 'i0')).toHaveLength(2)
    // Never the light one twice in a row.
    for (let i = 1; i < seq.length; i++) expect(seq[i] === 'i0' && seq[i - 1] === 'i0').toBe(false)
  })

  it('honours weights within 3% on large sets (cumulative draw)', () => {
    const weights = Array.from({ length: 40 }, (_, i) => (i % 4) + 1)
    const picker = weighted().build(instances(40, weights), context(seeded(7)))
    const n = 200_000
    const counts = count(() => picker.pick(), n)
    const total = weights.reduce((a, b) => a + b, 0)
    // Group by weight class: each class's share within 3% of its expected share.
    for (const w of [1, 2, 3, 4]) {
      const ids = weights.map((x, i) => (x === w ? `i${i}` : '')).filter(Boolean)
      const got = ids.reduce((a, id) => a + (counts.get(id) ?? 0), 0) / n
      const want = (w * ids.length) / total
      expect(Math.abs(got - want)).toBeLessThanOrEqual(0.03 * want)
    }
  })

  it('never picks weight 0 while others exist; all zero counts as equal', () => {
    const picker = weighted().build(instances(3, [0, 1, 1]), context())
    expect(count(() => picker.pick(), 100).has('i0')).toBe(false)
    const allZero = weighted().build(instances(2, [0, 0]), context())
    expect(count(() => allZero.pick(), 100).size).toBe(2)
  })
})

describe('random', () => {
  it('reaches every instance about equally', () => {
    const picker = random().build(instances(4), context(seeded(3)))
    const counts = count(() => picker.pick(), 40_000)
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500)
  })
})

describe('least-request', () => {
  it('prefers the instance with fewer requests in flight', () => {
    const loads = new Map([['i0', { inflight: 5, latencyMs: 0 }], ['i1', { inflight: 0, latencyMs: 0 }]])
    const picker = leastRequest().build(instances(2), context(seeded(1), loads))
    expect(count(() => picker.pick(), 100).get('i1')).toBe(100)
  })

  it('prefers the faster of two when one is slow (simulated traffic)', () => {
    const set = instances(2)
    const loads = new Map(set.map((i) => [i.id, { inflight: 0, latencyMs: 0 }]))
    const latency: Record<string, number> = { i0: 50, i1: 5 }
    const picker = leastRequest().build(set, context(seeded(2), loads))
    // Discrete-time simulation: 1 ms ticks, 4 new requests per tick, EWMA as discovery keeps it.
    const running: { id: string; doneAt: number }[] = []
    const sent = new Map<string, number>()
    for (let t = 0; t < 2_000; t++) {
      for (let k = running.length - 1; k >= 0; k--) {
        const r = running[k]!
        if (r.doneAt > t) continue
        const load = loads.get(r.id)!
        load.inflight--
        load.latencyMs = load.latencyMs === 0 ? latency[r.id]! : load.latencyMs + 0.3 * (latency[r.id]! - load.latencyMs)
        running.splice(k, 1)
      }
      for (let k = 0; k < 4; k++) {
        const id = picker.pick()!.id
        loads.get(id)!.inflight++
        running.push({ id, doneAt: t + latency[id]! })
        sent.set(id, (sent.get(id) ?? 0) + 1)
      }
    }
    expect(sent.get('i1')!).toBeGreaterThan(sent.get('i0')! * 3)
  })

  it('uses two distinct candidates, so three instances all get traffic at equal load', () => {
    const loads = new Map<string, InstanceLoad>()
    const picker = leastRequest().build(instances(3), context(seeded(5), loads as Map<string, { inflight: number; latencyMs: number }>))
    expect(count(() => picker.pick(), 3_000).size).toBe(3)
  })
})

describe('strategy lookup', () => {
  it('maps names to built-ins and accepts Balancer values', () => {
    expect(balancerFor('round-robin')).toBe(roundRobin())
    expect(balancerFor('least-request')).toBe(leastRequest())
    const custom = { name: 'first', build: (set: readonly Instance[]) => ({ pick: () => set[0] }) }
    expect(balancerFor(custom)).toBe(custom)
    expect(balancerFor('nope' as 'random')).toBeUndefined()
    expect(balancerFor('toString' as 'random')).toBeUndefined()
  })
})
