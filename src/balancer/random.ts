/** Uniform random choice: no shared state, so it suits many clients that start together. */
import type { Instance } from '../types.js'
import { nextAllowed } from './exclude.js'
import { EMPTY_PICKER, type Balancer, type PickContext, type Picker, type PickerContext } from './types.js'

class RandomPicker implements Picker {
  readonly #instances: readonly Instance[]
  readonly #random: () => number

  constructor(instances: readonly Instance[], random: () => number) {
    this.#instances = instances
    this.#random = random
  }

  pick(context?: PickContext): Instance | undefined {
    const n = this.#instances.length
    const i = Math.min(n - 1, Math.floor(this.#random() * n))
    const chosen = this.#instances[i]!
    if (context?.exclude === undefined || !context.exclude.has(chosen.id)) return chosen
    return nextAllowed(this.#instances, i + 1, context.exclude)
  }
}

const RANDOM: Balancer = Object.freeze({
  name: 'random',
  build(instances: readonly Instance[], context: PickerContext): Picker {
    return instances.length === 0 ? EMPTY_PICKER : new RandomPicker(instances, context.random)
  },
})

/** A uniformly random instance per pick. */
export function random(): Balancer {
  return RANDOM
}
