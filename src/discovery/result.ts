/**
 * DiscoveryResult: a frozen array of instances that also tells its age, source and revision.
 * The extras are non-enumerable getters, so the array compares, spreads and serialises as a
 * plain Instance[] and one result object can be handed to every caller without copying.
 */
import type { SnapshotSource } from '../events.js'
import type { Instance } from '../types.js'
import type { DiscoveryResult } from './types.js'

/** Where a result reads its live age and source from. */
export interface Freshness {
  ageMs(): number
  source(): SnapshotSource
}

export function makeResult(instances: readonly Instance[], revision: string, freshness: Freshness): DiscoveryResult {
  const list = [...instances]
  Object.defineProperties(list, {
    ageMs: { get: () => freshness.ageMs(), enumerable: false },
    source: { get: () => freshness.source(), enumerable: false },
    revision: { value: revision, enumerable: false },
  })
  return Object.freeze(list) as unknown as DiscoveryResult
}

/** Freezes an instance and its nested fields: the cache shares it between all callers. */
export function freezeInstance(instance: Instance): Instance {
  if (Object.isFrozen(instance)) return instance
  Object.freeze(instance.metadata)
  Object.freeze(instance.tags)
  return Object.freeze(instance)
}
