/**
 * Weighted choice by `instance.weight`. Weight 0 means "never picked while others exist"
 * (protocol v1, section 3); a set of only zero weights is treated as all equal.
 *
 * Small sets use smooth weighted round-robin (nginx): deterministic, so the shares match the
 * weights exactly over any window of sum(weights) picks and heavy instances are interleaved,
 * not bunched. Its pick is O(n), so large sets use a random draw on the cumulative weights
 * (O(log n)), which matches the weights statistically.
 */
import type { Instance } from '../types.js'
import { nextAllowed } from './exclude.js'
import { EMPTY_PICKER, type Balancer, type PickContext, type Picker, type PickerContext } from './types.js'

const SMOOTH_LIMIT = 32

class SmoothPicker implements Picker {
  readonly #instances: readonly Instance[]
  readonly #weights: Float64Array
  readonly #current: Float64Array
  readonly #total: number

  readonly #all: readonly Instance[]

  constructor(instances: readonly Instance[], weights: Float64Array, all: readonly Instance[]) {
    this.#instances = instances
    this.#all = all
    this.#weights = weights
    this.#current = new Float64Array(weights.length)
    let total = 0
    for (const w of weights) total += w
    this.#total = total
  }

  pick(context?: PickContext): Instance | undefined {
    const current = this.#current
    const weights = this.#weights
    let best = 0
    for (let i = 0; i < current.length; i++) {
      current[i]! += weights[i]!
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= this.#total
    const chosen = this.#instances[best]!
    if (context?.exclude === undefined || !context.exclude.has(chosen.id)) return chosen
    return excludedFallback(this.#instances, best, this.#all, context.exclude)
  }
}

class CumulativePicker implements Picker {
  readonly #instances: readonly Instance[]
  readonly #cumulative: Float64Array
  readonly #random: () => number

  readonly #all: readonly Instance[]

  constructor(instances: readonly Instance[], weights: Float64Array, random: () => number, all: readonly Instance[]) {
    this.#instances = instances
    this.#all = all
    this.#random = random
    this.#cumulative = new Float64Array(weights.length)
    let sum = 0
    for (let i = 0; i < weights.length; i++) this.#cumulative[i] = sum += weights[i]!
  }

  pick(context?: PickContext): Instance | undefined {
    const c = this.#cumulative
    const target = this.#random() * c[c.length - 1]!
    let lo = 0
    let hi = c.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (c[mid]! > target) hi = mid
      else lo = mid + 1
    }
    const chosen = this.#instances[lo]!
    if (context?.exclude === undefined || !context.exclude.has(chosen.id)) return chosen
    return excludedFallback(this.#instances, lo, this.#all, context.exclude)
  }
}

/**
 * The first choice was excluded: the next weighted instance allowed, and only when every one
 * is excluded a zero-weight one (weight 0 loses to any other instance, not to "none").
 */
function excludedFallback(kept: readonly Instance[], from: number, all: readonly Instance[], exclude: ReadonlySet<string>): Instance | undefined {
  return nextAllowed(kept, from + 1, exclude) ?? nextAllowed(all, 0, exclude)
}

function weightsOf(instances: readonly Instance[]): { kept: Instance[]; weights: Float64Array } {
  const kept = instances.filter((i) => validWeight(i.weight) > 0)
  const chosen = kept.length > 0 ? kept : [...instances]
  const weights = new Float64Array(chosen.length)
  chosen.forEach((instance, i) => (weights[i] = kept.length > 0 ? validWeight(instance.weight) : 1))
  return { kept: chosen, weights }
}

/** A weight that is not a finite non-negative number counts as the protocol default, 1. */
function validWeight(weight: number): number {
  return typeof weight === 'number' && Number.isFinite(weight) && weight >= 0 ? weight : 1
}

const WEIGHTED: Balancer = Object.freeze({
  name: 'weighted',
  build(instances: readonly Instance[], context: PickerContext): Picker {
    if (instances.length === 0) return EMPTY_PICKER
    const { kept, weights } = weightsOf(instances)
    return kept.length <= SMOOTH_LIMIT ? new SmoothPicker(kept, weights, instances) : new CumulativePicker(kept, weights, context.random, instances)
  },
})

/** Picks in proportion to `instance.weight`. */
export function weighted(): Balancer {
  return WEIGHTED
}
