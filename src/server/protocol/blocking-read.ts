/**
 * The long-poll rule of protocol section 4, once for every store: `?index=N&wait=D` holds
 * the request while the resource is still at N (0, or any other index, answers at once:
 * a lower one after a reset too), for at most D.
 */
import { mustHold, parseBlocking } from './blocking-params.js'
import type { ProtocolRequest } from './request.js'
import type { ProtocolStore, Resource } from './store.js'

/** Waits as the query asks; true when the request was held (the answer is then the state now). */
export async function holdWhileCurrent(store: ProtocolStore, resource: Resource, request: ProtocolRequest): Promise<boolean> {
  const { index, waitMs } = parseBlocking(request.query)
  if (index === 0n) return false
  const current = store.resourceIndex(resource)
  if (current === undefined || !mustHold(current, index)) return false
  await store.waitForChange(resource, index, waitMs, request)
  return true
}
