/** Discovery: cached, watched service lookups with a staleness contract, balancing and routing. */
export { createDiscovery } from './discovery.js'
export {
  resolveDiscoveryOptions,
  DISCOVERY_DEFAULTS,
  type DiscoveryOptions,
  type ResolvedDiscoveryOptions,
} from './options.js'
export type {
  DiscoverOptions,
  Discovery,
  DiscoveryContext,
  DiscoveryMeta,
  DiscoveryResult,
  InstanceFilter,
  PickOptions,
} from './types.js'
export { diffInstances } from './diff.js'
export type { ServiceChange, ServiceListener } from './subscriptions.js'
export type { ServicesOptions } from './services.js'
