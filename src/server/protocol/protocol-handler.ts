/**
 * Protocol v1 as one transport-neutral handler: a ProtocolRequest in, an Answer out, over a
 * ProtocolStore. Routing (404, 405 with Allow), the auth hook, request bodies, the core
 * route table and the error answers are here once; a server's own routes (the reference
 * server's overrides, history, OTLP, /metrics, multiplexed watch) plug into the same table.
 */
import { parseBatch } from '../metrics-validation.js'
import { HttpError } from '../http-error.js'
import type { Right } from '../auth.js'
import { Router, type MethodSpec, type RouteSpec } from '../router.js'
import { errorAnswer, jsonAnswer, type Answer } from './answer.js'
import { configRoutes } from './config-routes.js'
import { registryRoutes } from './registry-routes.js'
import { RouteContext, type Handler, type ProtocolRequest } from './request.js'
import { andThen, type ProtocolStore } from './store.js'

export interface ProtocolHandlerOptions {
  readonly store: ProtocolStore
  /** Routes beyond the core ones (the reference server's additions), matched by the same router. */
  readonly extraRoutes?: readonly RouteSpec<Handler>[]
  /** Throws 401/403 unless the request may do what `needs` says; absent: no auth (the testing kit). */
  readonly authorize?: (request: ProtocolRequest, needs: Right) => void
  /** What a failure that is not an HttpError answers: an HttpError, or an answer of its own. Default 500 `internal`. */
  readonly translateError?: (error: unknown) => HttpError | Answer
  /** Told of every error answered (counters). */
  readonly onError?: (error: HttpError) => void
}

export interface ProtocolHandler {
  /** Answers one request; never rejects. */
  handle(request: ProtocolRequest): Promise<Answer>
  /** The answer to a failure met outside handle() (a path that cannot be parsed, a server shutting down). */
  answerError(error: unknown): Answer
}

export const readRoute = (handler: Handler): MethodSpec<Handler> => ({ handler, right: 'read', body: false })
export const writeRoute = (handler: Handler, body: boolean | 'raw' = true): MethodSpec<Handler> => ({ handler, right: 'write', body })

/** The routes of protocol sections 5 to 8 over `store`. */
export function protocolRoutes(store: ProtocolStore): RouteSpec<Handler>[] {
  const registry = registryRoutes(store)
  const config = configRoutes(store)
  const health: Handler = () => jsonAnswer(200, { status: 'ok', ...store.health() })
  const pushMetrics: Handler = ({ body, request }) => {
    const batch = parseBatch(body)
    return andThen(store.pushMetrics(batch, request), (fresh) => (fresh ? jsonAnswer(202, { accepted: batch.points.length }) : jsonAnswer(200, { accepted: 0, duplicate: true })))
  }
  return [
    { path: '/v1/health', methods: { GET: { handler: health, right: undefined, body: false } } },
    { path: '/v1/services', methods: { GET: readRoute(registry.listServices) } },
    { path: '/v1/services/:service', methods: { GET: readRoute(registry.listInstances) } },
    { path: '/v1/services/:service/instances/:id', methods: { PUT: writeRoute(registry.register), DELETE: writeRoute(registry.deregister, false) } },
    { path: '/v1/services/:service/instances/:id/heartbeat', methods: { PUT: writeRoute(registry.heartbeat) } },
    { path: '/v1/config', methods: { GET: readRoute(config.list) } },
    { path: '/v1/config/:key', methods: { GET: readRoute(config.get), PUT: writeRoute(config.put), DELETE: writeRoute(config.delete, false) } },
    { path: '/v1/metrics', methods: { POST: writeRoute(pushMetrics) } },
  ]
}

export function createProtocolHandler(options: ProtocolHandlerOptions): ProtocolHandler {
  const router = new Router<Handler>([...protocolRoutes(options.store), ...(options.extraRoutes ?? [])])
  const { authorize, onError } = options
  const translate = options.translateError ?? (() => new HttpError(500, 'internal', 'internal server error'))

  const answerError = (error: unknown): Answer => {
    const failure = error instanceof HttpError ? error : translate(error)
    if (!(failure instanceof HttpError)) return failure
    onError?.(failure)
    return errorAnswer(failure)
  }

  const handle = async (request: ProtocolRequest): Promise<Answer> => {
    try {
      const { segments, method } = request
      const match = router.match(method, segments)
      if (authorize !== undefined) {
        const open = (match.kind === 'found' && match.spec.right === undefined) || (match.kind === 'method' && !match.needsAuth)
        // One check with the right the route needs: hashing the token is most of auth's cost.
        // Nothing between 401 and 403 can fail for a found route, so the answers are as if
        // read were checked first and write after routing.
        const needs = match.kind === 'found' && match.spec.right === 'write' ? 'write' : 'read'
        if (!open && (segments[0] === 'v1' || segments[0] === 'metrics' || needs === 'write')) authorize(request, needs)
      }
      if (match.kind === 'none') throw new HttpError(404, 'not_found', 'no such path')
      if (match.kind === 'method') throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`, { headers: { allow: match.allow } })
      const { spec } = match
      let body: unknown
      if (spec.body === 'raw') body = request.hasBody ? await request.bytes() : Buffer.alloc(0)
      else if (spec.body) body = await request.json()
      else if (request.hasBody && (await request.bytes()).length > 0) {
        // Refused rather than ignored: a DELETE with {"ifVersion": …} in its body must not delete unconditionally.
        throw new HttpError(400, 'bad_request', `${method} on this path takes no request body (parameters go in the query)`)
      }
      return await spec.handler(new RouteContext(request, match.params, body))
    } catch (error) {
      return answerError(error)
    }
  }

  return { handle, answerError }
}
