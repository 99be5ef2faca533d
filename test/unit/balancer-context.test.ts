import { describe, expect, it } from 'vitest'
import { consistentHash, leastRequest, random, roundRobin, weighted, type Balancer, type PickerContext } from '../../src/balancer/index.js'
import { balancerFor } from '../../src/balancer/strategy.js'
import type { Instance } from '../../src/types.js'
import { seeded } from '../helpers/seeded-random.js'

function instances(n: number, weights: number[] = [], prefix = 'i'): Instance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`, service: 's', address: '10.0.0.1', port: 1000 + i, status: 'UP' as const,
    metadata: {}, tags: [], weight: weights[i] ?? 1,
  }))
}

function context(): PickerContext {
  return { random: seeded(7), load: () => ({ inflight: 0, latencyMs: 0 }) }
}

const BUILT_INS: [string, Balancer][] = [
  ['round-robin', roundRobin()],
  ['random', random()],
  ['weighted (smooth)', weighted()],
  ['least-request', leastRequest()],
  ['consistent-hash', consistentHash()],
]

describe('pick({ exclude })', () => {
  for (const [name, balancer] of BUILT_INS) {
    it(`${name}: never returns an excluded instance while another is left, undefined when none is`, () => {
      const set = instances(5)
      const picker = balancer.build(set, context())
      const exclude = new Set(['i0', 'i1', 'i3'])
      const seen = new Set<string>()
      for (let k = 0; k < 500; k++) seen.add(picker.pick({ exclude, hashKey: `k${k}` })!.id)
      expect([...seen].sort()).toEqual(['i2', 'i4'])
      expect(picker.pick({ exclude: new Set(set.map((i) => i.id)) })).toBeUndefined()
      // A single instance excluded: nothing else to go to.
      expect(balancer.build(instances(1), context()).pick({ exclude: new Set(['i0']) })).toBeUndefined()
    })
  }

  it('weighted, large set (cumulative draw): exclusion holds too', () => {
    const picker = weighted().build(instances(40), context())
    const exclude = new Set(instances(39).map((i) => i.id))
    for (let k = 0; k < 200; k++) expect(picker.pick({ exclude })!.id).toBe('i39')
  })

  it('weighted: a zero-weight instance is used only when every weighted one is excluded', () => {
    const picker = weighted().build(instances(3, [0, 1, 1]), context())
    for (let k = 0; k < 50; k++) expect(picker.pick({ exclude: new Set(['i1']) })!.id).toBe('i2')
    expect(picker.pick({ exclude: new Set(['i1', 'i2']) })!.id).toBe('i0')
  })

  it('pick() without a context behaves as before (round-robin still cycles every instance in turn)', () => {
    const picker = roundRobin().build(instances(4), context())
    const first = picker.pick()!.id
    const order = [first, ...Array.from({ length: 7 }, () => picker.pick()!.id)]
    expect(new Set(order.slice(0, 4)).size).toBe(4)
    expect(order.slice(4)).toEqual(order.slice(0, 4))
  })
})

describe('consistentHash()', () => {
  const keys = Array.from({ length: 20_000 }, (_, k) => `user-${k}`)

  function owners(set: Instance[]): Map<string, string> {
    const picker = consistentHash().build(set, context())
    return new Map(keys.map((key) => [key, picker.pick({ hashKey: key })!.id]))
  }

  function movedFraction(a: Map<string, string>, b: Map<string, string>): number {
    return keys.filter((key) => a.get(key) !== b.get(key)).length / keys.length
  }

  it('is selectable by name and maps a key to the same instance on every picker of the same set', () => {
    expect(balancerFor('consistent-hash')).toBe(consistentHash())
    const set = instances(8)
    const a = consistentHash().build(set, context())
    // Same instances in another order: ownership depends on ids, not positions.
    const b = consistentHash().build([...set].reverse(), { ...context(), random: seeded(99) })
    for (const key of keys.slice(0, 2000)) expect(b.pick({ hashKey: key })!.id).toBe(a.pick({ hashKey: key })!.id)
  })

  it('adding an 11th instance moves about 1/11 of the keys, all of them to the new one', () => {
    const before = owners(instances(10))
    const after = owners(instances(11))
    const moved = movedFraction(before, after)
    expect(moved).toBeGreaterThan(0.5 / 11)
    expect(moved).toBeLessThan(1.5 / 11)
    for (const key of keys) if (before.get(key) !== after.get(key)) expect(after.get(key)).toBe('i10')
  })

  it('removing one of 10 instances moves only the keys it owned (about 1/10)', () => {
    const set = instances(10)
    const before = owners(set)
    const after = owners(set.filter((i) => i.id !== 'i4'))
    const moved = movedFraction(before, after)
    expect(moved).toBeGreaterThan(0.05)
    expect(moved).toBeLessThan(0.15)
    for (const key of keys) if (before.get(key) !== after.get(key)) expect(before.get(key)).toBe('i4')
  })

  it('spreads keys over the instances within ±35% of a fair share', () => {
    const counts = new Map<string, number>()
    for (const id of owners(instances(10)).values()) counts.set(id, (counts.get(id) ?? 0) + 1)
    expect(counts.size).toBe(10)
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(keys.length / 10 * 0.65)
      expect(n).toBeLessThan(keys.length / 10 * 1.35)
    }
  })

  it('excluding a key\'s owner sends it where it would go if that owner left the ring', () => {
    const set = instances(10)
    const picker = consistentHash().build(set, context())
    const without = owners(set.filter((i) => i.id !== 'i4'))
    for (const key of keys.slice(0, 3000)) {
      if (picker.pick({ hashKey: key })!.id !== 'i4') continue
      expect(picker.pick({ hashKey: key, exclude: new Set(['i4']) })!.id).toBe(without.get(key))
    }
  })

  it('without a hash key, picks are spread over every instance', () => {
    const picker = consistentHash().build(instances(5), context())
    const seen = new Set(Array.from({ length: 500 }, () => picker.pick()!.id))
    expect(seen.size).toBe(5)
  })
})
