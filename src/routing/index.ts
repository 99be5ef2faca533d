/** Routing of the application's own requests by service name: gov.fetch and gov.dispatcher. */
export { createRouting, type Routing, type RoutingContext } from './routing.js'
export { resolveRoutingOptions, ROUTING_DEFAULTS, type ResolvedRoutingOptions, type RoutingOptions } from './options.js'
export { RoutingDispatcher, type RoutingDispatcherOptions } from './dispatcher.js'
export { createRoutedFetch, type RoutedFetch, type RoutedRequestInit } from './fetch.js'
export { defaultServiceHost } from './service-host.js'
export type { RequestTracker, RoutingSource } from './types.js'
