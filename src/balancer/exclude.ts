/** The slow path every picker shares when its first choice is excluded by the pick context. */
import type { Instance } from '../types.js'

/** The first instance from `start` on (wrapping) whose id is not excluded, or undefined. */
export function nextAllowed(instances: readonly Instance[], start: number, exclude: ReadonlySet<string>): Instance | undefined {
  const n = instances.length
  for (let k = 0; k < n; k++) {
    const candidate = instances[(start + k) % n]!
    if (!exclude.has(candidate.id)) return candidate
  }
  return undefined
}
