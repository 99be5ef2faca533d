/** The route table of protocol v1. */
import { configHandlers } from './config-handlers.js'
import type { Handler, ServerState } from './handler.js'
import { expositionHandler } from './exposition-page.js'
import { metricsHandlers } from './metrics-handlers.js'
import { otlpHandlers } from './otlp-handlers.js'
import { registryHandlers } from './registry-handlers.js'
import { jsonAnswer } from './respond.js'
import { Router, type MethodSpec, type RouteSpec } from './router.js'
import { createWatchMux, watchMuxHealth } from './watch-mux.js'

const read = (handler: Handler): MethodSpec<Handler> => ({ handler, right: 'read', body: false })
const write = (handler: Handler, body = true): MethodSpec<Handler> => ({ handler, right: 'write', body })

export function createRoutes(state: ServerState): Router<Handler> {
  const registry = registryHandlers(state)
  const config = configHandlers(state)
  const metrics = metricsHandlers(state)
  const otlp = otlpHandlers(state)
  const exposition = expositionHandler(state)
  const mux = createWatchMux(state)
  // `held` (blocking queries held now) and `watchStreams` are the reference server's additions to section 8.
  const health: Handler = () =>
    jsonAnswer(200, { status: 'ok', index: state.counter.current().toString(), held: state.hub.size, watchStreams: mux.size(), ...watchMuxHealth })
  const routes: RouteSpec<Handler>[] = [
    { path: '/v1/health', methods: { GET: { handler: health, right: undefined, body: false } } },
    { path: '/v1/services', methods: { GET: read(registry.listServices) } },
    { path: '/v1/services/:service', methods: { GET: read(registry.listInstances) } },
    { path: '/v1/services/:service/instances/:id', methods: { PUT: write(registry.register), DELETE: write(registry.deregister, false) } },
    { path: '/v1/services/:service/instances/:id/heartbeat', methods: { PUT: write(registry.heartbeat) } },
    { path: '/v1/config', methods: { GET: read(config.list) } },
    { path: '/v1/config/:key', methods: { GET: read(config.get), PUT: write(config.put), DELETE: write(config.delete, false) } },
    { path: '/v1/metrics', methods: { POST: write(metrics.push) } },
    { path: '/v1/metrics/:service', methods: { GET: read(metrics.query) } },
    { path: '/otlp/v1/metrics', methods: { POST: { handler: otlp.metrics, right: 'write', body: 'raw' } } },
    { path: '/metrics', methods: { GET: read(exposition) } },
    // A read, though it is a POST: the body only lists what to watch.
    { path: '/v1/watch', methods: { POST: { handler: mux.handler, right: 'read', body: true } } },
  ]
  return new Router(routes)
}
