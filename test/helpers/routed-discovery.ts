/**
 * Discovery with routing built over it, as the client wires them (src/client.ts): one object
 * with discovery's calls plus fetch and dispatcher, whose close() closes both.
 */
import type { Dispatcher } from 'undici'
import { createDiscovery, resolveDiscoveryOptions, type Discovery, type DiscoveryContext, type DiscoveryOptions } from '../../src/discovery/index.js'
import type { UpstreamRecorder } from '../../src/metrics/upstream.js'
import { createRouting, resolveRoutingOptions, type Routing } from '../../src/routing/index.js'

export interface RoutedDiscovery extends Discovery {
  readonly dispatcher: Dispatcher
  fetch: Routing['fetch']
}

export function createRoutedDiscovery(options: DiscoveryOptions, ctx: DiscoveryContext & { readonly upstream?: UpstreamRecorder }): RoutedDiscovery {
  const { upstream, ...discoveryCtx } = ctx
  const discovery = createDiscovery(resolveDiscoveryOptions(options), discoveryCtx)
  const routing = createRouting(resolveRoutingOptions(options.routing), {
    source: discovery.routingSource,
    logger: ctx.logger,
    requestTimeoutMs: ctx.requestTimeoutMs,
    upstream,
  })
  return {
    discover: (service, o) => discovery.discover(service, o),
    pick: (service, o) => discovery.pick(service, o),
    pickSync: (service, o) => discovery.pickSync(service, o),
    subscribe: (service, listener) => discovery.subscribe(service, listener),
    changes: (service, o) => discovery.changes(service, o),
    services: (o) => discovery.services(o),
    routingSource: discovery.routingSource,
    dispatcher: routing.dispatcher,
    fetch: (input, init) => routing.fetch(input, init),
    close: async () => {
      await Promise.all([discovery.close(), routing.close()])
    },
  }
}
