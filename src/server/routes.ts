/**
 * The reference server's protocol handler: the core routes of protocol v1 over the
 * server's stores, and the server's additions (overrides, config and metric history,
 * metric reads, OTLP, /metrics, the multiplexed watch) in the same route table.
 */
import { configHistoryHandler } from './config-history-handler.js'
import type { ServerState } from './handler.js'
import { expositionHandler } from './exposition-page.js'
import { metricsHandlers } from './metrics-handlers.js'
import { overrideHandlers } from './override-handlers.js'
import { otlpHandlers } from './otlp-handlers.js'
import { createProtocolHandler, readRoute, writeRoute, type ProtocolHandler } from './protocol/protocol-handler.js'
import type { Handler } from './protocol/request.js'
import type { RouteSpec } from './router.js'
import { createServerStore } from './server-store.js'
import type { TokenAuth } from './auth.js'
import type { Logger } from '../internal/logger.js'
import { HttpError } from './http-error.js'
import { createWatchMux, watchMuxHealth } from './watch-mux.js'

export function createServerHandler(state: ServerState, auth: TokenAuth, logger: Logger): ProtocolHandler {
  const metrics = metricsHandlers(state)
  const override = overrideHandlers(state)
  const otlp = otlpHandlers(state)
  const mux = createWatchMux(state)
  // `held` (blocking queries held now), `watchStreams` and `stats` (limits, usage and
  // refusals) are the reference server's additions to section 8.
  const health = (): Record<string, unknown> => ({
    index: state.counter.current().toString(),
    held: state.hub.size,
    watchStreams: mux.size(),
    ...watchMuxHealth,
    stats: serverStats(state),
  })
  const extraRoutes: RouteSpec<Handler>[] = [
    { path: '/v1/services/:service/instances/:id/override', methods: { PUT: writeRoute(override.set), DELETE: writeRoute(override.clear, false) } },
    { path: '/v1/config/:key/history', methods: { GET: readRoute(configHistoryHandler(state)) } },
    { path: '/v1/metrics/:service', methods: { GET: readRoute(metrics.query) } },
    { path: '/v1/metrics/:service/history', methods: { GET: readRoute(metrics.history) } },
    { path: '/otlp/v1/metrics', methods: { POST: writeRoute(otlp.metrics, 'raw') } },
    { path: '/metrics', methods: { GET: readRoute(expositionHandler(state)) } },
    // A read, though it is a POST: the body only lists what to watch.
    { path: '/v1/watch', methods: { POST: { handler: mux.handler, right: 'read', body: true } } },
  ]
  return createProtocolHandler({
    store: createServerStore(state, health),
    extraRoutes,
    ...(auth.enabled ? { authorize: (request, needs) => auth.check(request.header('authorization'), needs) } : {}),
    translateError: (error) => {
      logger.error('request failed', { error })
      return new HttpError(500, 'internal', 'internal server error')
    },
    onError: (error) => {
      if (error.extra['limit'] === 'maxBodyBytes') state.stats.refuse('bodiesTooLarge', 'request body over maxBodyBytes refused')
    },
  })
}

/** What GET /v1/health reports under `stats`: use against limit, and refusals since start. */
function serverStats(state: ServerState): Record<string, unknown> {
  const { stats, limits } = state
  const snapshot = stats.snapshot()
  return {
    ...snapshot.counters,
    usage: {
      connections: snapshot.connections,
      heldQueries: state.hub.size,
      services: state.registry.serviceCount,
      configKeys: state.config.size,
      configBytes: state.config.bytes,
      series: state.metrics.seriesCount,
    },
    limits,
  }
}
