/**
 * The REST face of the fake Eureka server ("Eureka REST operations"): JSON only, under a
 * base path such as `/eureka` (Spring Cloud) or `/eureka/v2` (the Netflix WAR). Reads may
 * be served from a response cache that refreshes every `responseCacheMs`, as the real
 * server's read-only cache does (30 s there).
 */
import { json, text, type FakeAnswer, type FakeRequest } from '../registry-fakes/fake-http.js'
import { EurekaInputError, isEurekaStatus, type FakeEurekaRegistry } from './registry.js'

export interface EurekaRouteState {
  readonly registry: FakeEurekaRegistry
  readonly basePath: string
  readonly responseCacheMs: number
  readonly cache: Map<string, { at: number; answer: FakeAnswer }>
}

function cached(state: EurekaRouteState, key: string, make: () => FakeAnswer): FakeAnswer {
  if (state.responseCacheMs <= 0) return make()
  const hit = state.cache.get(key)
  const now = Date.now()
  if (hit !== undefined && now - hit.at < state.responseCacheMs) return hit.answer
  const answer = make()
  state.cache.set(key, { at: now, answer })
  return answer
}

export function routeEureka(state: EurekaRouteState, req: FakeRequest): FakeAnswer {
  const base = `${state.basePath}/apps`
  if (req.path !== base && !req.path.startsWith(`${base}/`)) return text(404, `no route for ${req.path}`)
  const parts = req.path.slice(base.length).split('/').filter((p) => p !== '').map(decodeURIComponent)
  const r = state.registry
  try {
    if (parts.length === 0 && req.method === 'GET') return cached(state, 'full', () => json(200, r.fullApplications()))
    if (parts.length === 1 && parts[0] === 'delta' && req.method === 'GET') return cached(state, 'delta', () => json(200, r.deltaApplications(Date.now())))
    const [app, id, sub] = parts as [string, string | undefined, string | undefined]
    if (id === undefined) {
      if (req.method === 'POST') {
        r.register(app, JSON.parse(req.body.toString('utf8') || '{}'))
        return { status: 204 }
      }
      if (req.method === 'GET') return cached(state, `app:${app.toUpperCase()}`, () => getApp(r, app))
    } else if (sub === undefined) {
      if (req.method === 'PUT') return r.renew(app, id, req.query.get('status'), req.query.get('lastDirtyTimestamp')) ? { status: 200 } : { status: 404 }
      if (req.method === 'DELETE') return r.cancel(app, id) ? { status: 200 } : { status: 404 }
      if (req.method === 'GET') {
        const s = r.find(app, id)
        return s === undefined ? { status: 404 } : json(200, { instance: r.encode(s) })
      }
    } else if (sub === 'status') {
      const value = req.query.get('value')
      if (req.method === 'PUT') {
        if (!isEurekaStatus(value)) return text(400, `invalid status ${String(value)}`)
        return r.setOverride(app, id, value) ? { status: 200 } : { status: 404 }
      }
      if (req.method === 'DELETE') return r.setOverride(app, id, undefined) ? { status: 200 } : { status: 404 }
    } else if (sub === 'metadata' && req.method === 'PUT') {
      return r.updateMetadata(app, id, req.query) ? { status: 200 } : { status: 404 }
    }
  } catch (error) {
    if (error instanceof EurekaInputError) return text(400, error.message)
    if (error instanceof SyntaxError) return text(400, `Unexpected character in the body: ${error.message}`)
    throw error
  }
  return text(405, `method ${req.method} not allowed on ${req.path}`)
}

function getApp(r: FakeEurekaRegistry, app: string): FakeAnswer {
  const name = app.toUpperCase()
  const instances = r.apps.get(name)
  if (instances === undefined || instances.size === 0) return { status: 404 }
  return json(200, { application: { name, instance: [...instances.values()].map((s) => r.encode(s)) } })
}
