/** What routing needs from discovery: choosing instances and reporting how requests went. */
import type { PickContext } from '../balancer/types.js'
import type { Instance } from '../types.js'

/** One request to one instance, from dispatch to its response headers (or failure). */
export interface RequestTracker {
  /** `address:port` of the instance (IPv6 bracketed), the authority to send to. */
  readonly hostPort: string
  /** Records the outcome once: a status (response headers arrived) or an error. Later calls do nothing. */
  end(outcome: { readonly status?: number; readonly error?: boolean }): void
}

export interface RoutingSource {
  /**
   * An instance now, or undefined when the cache is cold or nothing is available (nothing
   * outside `context.exclude` either). Never throws.
   */
  pickSync(service: string, context?: PickContext): Instance | undefined
  /** An instance, waiting for discovery when needed; rejects with a GovernanceError. */
  pick(service: string): Promise<Instance>
  /** Counts a request to `instance` as in flight until the tracker ends. */
  begin(service: string, instance: Instance): RequestTracker
}
