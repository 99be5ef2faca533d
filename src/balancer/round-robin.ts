/** Round-robin: each instance in turn, starting at a random offset so clients do not move in step. */
import type { Instance } from '../types.js'
import { nextAllowed } from './exclude.js'
import { EMPTY_PICKER, type Balancer, type PickContext, type Picker, type PickerContext } from './types.js'

class RoundRobinPicker implements Picker {
  readonly #instances: readonly Instance[]
  #next: number

  constructor(instances: readonly Instance[], start: number) {
    this.#instances = instances
    this.#next = start
  }

  pick(context?: PickContext): Instance | undefined {
    const i = this.#next
    this.#next = i + 1 === this.#instances.length ? 0 : i + 1
    const chosen = this.#instances[i]!
    if (context?.exclude === undefined || !context.exclude.has(chosen.id)) return chosen
    return nextAllowed(this.#instances, i + 1, context.exclude)
  }
}

const ROUND_ROBIN: Balancer = Object.freeze({
  name: 'round-robin',
  build(instances: readonly Instance[], context: PickerContext): Picker {
    if (instances.length === 0) return EMPTY_PICKER
    return new RoundRobinPicker(instances, Math.floor(context.random() * instances.length) % instances.length)
  },
})

/** Each instance in turn. */
export function roundRobin(): Balancer {
  return ROUND_ROBIN
}
