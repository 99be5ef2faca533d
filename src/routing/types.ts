/** What routing needs from discovery (its one seam) and what it keeps per request. */
import type { PickContext } from '../balancer/types.js'
import type { InstanceStats } from '../balancer/stats.js'
import type { Instance, UpstreamOutcome } from '../types.js'

/** One request to one instance, from dispatch to its response headers (or failure). */
export interface RequestTracker {
  /** `address:port` of the instance (IPv6 bracketed), the authority to send to. */
  readonly hostPort: string
  /** Records the outcome once: a status (response headers arrived) or an error. Later calls do nothing. */
  end(outcome: UpstreamOutcome): void
}

/** Instances to send to, and their live records: what discovery gives routing. */
export interface RoutingSource {
  /**
   * An instance now, or undefined when the cache is cold or nothing is available (nothing
   * outside `context.exclude` either). Never throws.
   */
  pickSync(service: string, context?: PickContext): Instance | undefined
  /** An instance, waiting for discovery when needed; rejects with a GovernanceError. */
  pick(service: string, context?: PickContext): Promise<Instance>
  /** The live record routed requests update (in flight, latency, outcomes) and balancers read. */
  statsOf(service: string, instance: Instance): InstanceStats
}
