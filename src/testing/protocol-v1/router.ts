/**
 * A protocol v1 server (docs/protocol.md) as one fetch-API handler over a test registry, so
 * that the same state, faults and records serve msw handlers and a loopback HTTP server.
 * It checks names, bodies and query parameters as the reference server does (sharing its
 * validators); it has no auth and no metrics query (GET /v1/metrics/{service}).
 */
import { HttpError, badRequest } from '../../server/http-error.js'
import type { TestRegistry } from '../test-registry.js'
import { errorAnswer, failureAnswer } from './answers.js'
import { deleteConfig, health, listConfig, pushMetrics, readConfig, writeConfig } from './config-routes.js'
import { deregister, heartbeat, listInstances, listServices, register, type RouteContext } from './registry-routes.js'

export type FetchHandler = (request: Request) => Promise<Response>

export interface ProtocolV1HandlerOptions {
  /** A path prefix in front of `/v1` (from the base URL the client is given). Default ''. */
  readonly basePath?: string
}

type Route = (ctx: RouteContext, params: readonly string[]) => Response | Promise<Response>
type Table = readonly (readonly [pattern: readonly string[], methods: Readonly<Record<string, Route>>])[]

// ':' marks a segment captured as a parameter.
const ROUTES: Table = [
  [['v1', 'health'], { GET: health }],
  [['v1', 'services'], { GET: listServices }],
  [['v1', 'services', ':'], { GET: (c, [s]) => listInstances(c, s!) }],
  [['v1', 'services', ':', 'instances', ':'], { PUT: (c, [s, i]) => register(c, s!, i!), DELETE: (c, [s, i]) => deregister(c, s!, i!) }],
  [['v1', 'services', ':', 'instances', ':', 'heartbeat'], { PUT: (c, [s, i]) => heartbeat(c, s!, i!) }],
  [['v1', 'config'], { GET: listConfig }],
  [['v1', 'config', ':'], { GET: (c, [k]) => readConfig(c, k!), PUT: (c, [k]) => writeConfig(c, k!), DELETE: (c, [k]) => deleteConfig(c, k!) }],
  [['v1', 'metrics'], { POST: pushMetrics }],
]

export function createProtocolV1Handler(registry: TestRegistry, options: ProtocolV1HandlerOptions = {}): FetchHandler {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '')
  return async (request) => {
    // An unreachable registry does not answer at all, health included.
    if (registry.faults.unreachable) return Response.error()
    try {
      const url = new URL(request.url)
      const match = matchRoute(stripBase(url.pathname, basePath), request.method)
      if (match instanceof Response) return match
      const signal = AbortSignal.any([request.signal, registry.closeSignal])
      const ctx: RouteContext = { registry, request, url, signal, body: await readJson(request) }
      return await match.route(ctx, match.params)
    } catch (error) {
      return failureAnswer(error)
    }
  }
}

function stripBase(pathname: string, basePath: string): string[] | undefined {
  if (basePath !== '' && !pathname.startsWith(`${basePath}/`)) return undefined
  const segments = pathname.slice(basePath.length + 1).split('/')
  try {
    return segments.map((s) => decodeURIComponent(s))
  } catch {
    throw badRequest('the path has malformed percent-encoding')
  }
}

function matchRoute(segments: string[] | undefined, method: string): { route: Route; params: string[] } | Response {
  for (const [pattern, methods] of segments ? ROUTES : []) {
    if (pattern.length !== segments!.length || !pattern.every((p, i) => p === ':' || p === segments![i])) continue
    const route = methods[method]
    if (!route) {
      const allow = Object.keys(methods).join(', ')
      return errorAnswer(405, 'method_not_allowed', `${method} is not allowed here`, {}, { allow })
    }
    return { route, params: segments!.filter((_, i) => pattern[i] === ':') }
  }
  return errorAnswer(404, 'not_found', 'no such path')
}

async function readJson(request: Request): Promise<unknown> {
  const text = await request.text()
  if (text.trim() === '') return undefined
  if (text.length > 1_048_576) throw new HttpError(413, 'payload_too_large', 'the body is over 1 MiB')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw badRequest('the body is not valid JSON')
  }
}
