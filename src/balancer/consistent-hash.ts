/**
 * Consistent hashing: equal `hashKey`s go to the same instance, and adding or removing one of
 * n instances moves only about 1/n of the keys (Karger et al.; ketama's ring).
 *
 * A hash ring with virtual nodes rather than Maglev: Maglev's O(1) table balances a little
 * better but moves somewhat more than 1/n of the keys on a change and has no natural "next
 * instance", whereas the ring's clockwise successor is one, so an excluded instance (a retry
 * elsewhere) sends its keys to the instance that would own them if it left. Lookups are a
 * binary search over n x VNODES points. Weights are not used: every instance owns VNODES points.
 */
import type { Instance } from '../types.js'
import { EMPTY_PICKER, type Balancer, type PickContext, type Picker, type PickerContext } from './types.js'

/** Points per instance: enough that shares stay within about ±25% of fair (std ~ 1/sqrt(VNODES)). */
const VNODES = 160
/** Owners are packed beside the 32-bit point in a float64 for one numeric sort. */
const OWNER_SPACE = 2 ** 20

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so close strings spread over the ring. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

class RingPicker implements Picker {
  readonly #instances: readonly Instance[]
  readonly #points: Uint32Array
  readonly #owners: Uint32Array
  readonly #random: () => number

  constructor(instances: readonly Instance[], random: () => number) {
    this.#instances = instances
    this.#random = random
    const packed = new Float64Array(instances.length * VNODES)
    instances.forEach((instance, owner) => {
      for (let v = 0; v < VNODES; v++) packed[owner * VNODES + v] = hash32(`${instance.id}#${v}`) * OWNER_SPACE + owner
    })
    packed.sort()
    this.#points = new Uint32Array(packed.length)
    this.#owners = new Uint32Array(packed.length)
    packed.forEach((p, i) => {
      this.#owners[i] = p % OWNER_SPACE
      this.#points[i] = Math.floor(p / OWNER_SPACE)
    })
  }

  /** Without a hash key, a random point: the spread of random() over this ring. */
  pick(context?: PickContext): Instance | undefined {
    const key = context?.hashKey
    const at = key === undefined ? Math.floor(this.#random() * 0x1_0000_0000) : hash32(key)
    const first = this.#successor(at)
    const chosen = this.#instances[this.#owners[first]!]!
    if (context?.exclude === undefined || !context.exclude.has(chosen.id)) return chosen
    return this.#walk(first, context.exclude)
  }

  /** Index of the first point at or after `at`, wrapping to 0 past the last. */
  #successor(at: number): number {
    const points = this.#points
    let lo = 0
    let hi = points.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (points[mid]! < at) lo = mid + 1
      else hi = mid
    }
    return lo === points.length ? 0 : lo
  }

  /** Clockwise from `first` to the first point whose owner is not excluded. */
  #walk(first: number, exclude: ReadonlySet<string>): Instance | undefined {
    const n = this.#points.length
    for (let k = 1; k < n; k++) {
      const candidate = this.#instances[this.#owners[(first + k) % n]!]!
      if (!exclude.has(candidate.id)) return candidate
    }
    return undefined
  }
}

const CONSISTENT_HASH: Balancer = Object.freeze({
  name: 'consistent-hash',
  build(instances: readonly Instance[], context: PickerContext): Picker {
    if (instances.length === 0) return EMPTY_PICKER
    // Past OWNER_SPACE owners the packing would overflow; such a set is far beyond any registry.
    return new RingPicker(instances.length < OWNER_SPACE ? instances : instances.slice(0, OWNER_SPACE - 1), context.random)
  },
})

/**
 * Sends equal `hashKey`s to the same instance (session affinity, cache locality); a pick
 * without a key is a random instance.
 */
export function consistentHash(): Balancer {
  return CONSISTENT_HASH
}
