/**
 * Least request with the power of two choices (Mitzenmacher): draw two distinct instances at
 * random and send to the cheaper, where cost = latency EWMA x (in-flight + 1), as in
 * Finagle's peak-EWMA. Two random candidates avoid the herd that "always the least loaded"
 * causes when many clients see the same numbers, and the latency term makes a slow instance
 * carry less even at equal in-flight counts.
 */
import type { Instance } from '../types.js'
import { nextAllowed } from './exclude.js'
import { EMPTY_PICKER, type Balancer, type InstanceLoad, type PickContext, type Picker, type PickerContext } from './types.js'

/** Latency assumed before the first sample, so unmeasured instances compete on in-flight alone. */
const UNMEASURED_MS = 1

class LeastRequestPicker implements Picker {
  readonly #instances: readonly Instance[]
  readonly #loads: readonly InstanceLoad[]
  readonly #random: () => number

  constructor(instances: readonly Instance[], loads: readonly InstanceLoad[], random: () => number) {
    this.#instances = instances
    this.#loads = loads
    this.#random = random
  }

  pick(context?: PickContext): Instance | undefined {
    const n = this.#instances.length
    if (context?.exclude !== undefined) return this.#pickExcluding(context.exclude)
    if (n === 1) return this.#instances[0]
    const a = Math.min(n - 1, Math.floor(this.#random() * n))
    // The second draw skips `a`, so the two candidates always differ.
    let b = Math.min(n - 2, Math.floor(this.#random() * (n - 1)))
    if (b >= a) b++
    return this.#instances[cost(this.#loads[b]!) < cost(this.#loads[a]!) ? b : a]
  }

  /** Off the hot path: the usual choice when allowed, else the next allowed instance after it. */
  #pickExcluding(exclude: ReadonlySet<string>): Instance | undefined {
    const chosen = this.pick()!
    if (!exclude.has(chosen.id)) return chosen
    return nextAllowed(this.#instances, this.#instances.indexOf(chosen) + 1, exclude)
  }
}

function cost(load: InstanceLoad): number {
  return (load.latencyMs > 0 ? load.latencyMs : UNMEASURED_MS) * (load.inflight + 1)
}

const LEAST_REQUEST: Balancer = Object.freeze({
  name: 'least-request',
  build(instances: readonly Instance[], context: PickerContext): Picker {
    if (instances.length === 0) return EMPTY_PICKER
    return new LeastRequestPicker(instances, instances.map((i) => context.load(i)), context.random)
  },
})

/** The cheaper of two random instances by in-flight requests and latency (needs routed traffic to learn). */
export function leastRequest(): Balancer {
  return LEAST_REQUEST
}
