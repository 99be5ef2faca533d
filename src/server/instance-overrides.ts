/**
 * Operator overrides of an instance's status and weight (like Eureka's overriddenstatus).
 * Kept apart from the instance records so that an override outlives the instance's own
 * re-registrations and even its expiry, until an operator clears it.
 */
import type { InstanceStatus } from '../types.js'

export interface InstanceOverride {
  readonly status?: InstanceStatus
  readonly weight?: number
  /** Epoch ms when the operator set it. */
  readonly setAt: number
}

export const MAX_OVERRIDES = 10_000

export class InstanceOverrides {
  readonly #entries = new Map<string, InstanceOverride>()

  get size(): number {
    return this.#entries.size
  }

  get(service: string, id: string): InstanceOverride | undefined {
    return this.#entries.size === 0 ? undefined : this.#entries.get(key(service, id))
  }

  /** False when the table is full and this instance has no override yet. */
  set(service: string, id: string, override: InstanceOverride): boolean {
    const k = key(service, id)
    if (!this.#entries.has(k) && this.#entries.size >= MAX_OVERRIDES) return false
    this.#entries.set(k, override)
    return true
  }

  clear(service: string, id: string): boolean {
    return this.#entries.delete(key(service, id))
  }
}

const key = (service: string, id: string): string => `${service}\u0000${id}`
