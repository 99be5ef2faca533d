/** Routing of the application's own requests by service name: gov.fetch and gov.dispatcher. */
export { RoutingDispatcher, type RoutingDispatcherOptions } from './dispatcher.js'
export { createRoutedFetch, type RoutedFetch } from './fetch.js'
export { defaultServiceHost } from './service-host.js'
export type { RequestTracker, RoutingSource } from './types.js'
