/**
 * A faithful fake of the seed document's three Flask centers (shared/seed/, section 4),
 * as msw handlers, for tests that must not start Python. Same routes, same answers, same
 * storage by name, and Flask 2.2's failure modes:
 *
 * - `request.json` on a body that is not JSON, or without `Content-Type: application/json`
 *   → 400 HTML page (werkzeug 2.2 raises BadRequest in both cases);
 * - a JSON body that is not an object, or lacks a key the view indexes (`name`,
 *   `config_info`) → the view raises (TypeError/KeyError) → 500 HTML page;
 * - a wrong method → 405 HTML page with `Allow`; an unknown path → 404 HTML page;
 * - answers are `jsonify(...)`: compact JSON, keys sorted, non-ASCII escaped, trailing newline.
 *
 * Requests made with undici are seen through @mswjs/interceptors (notes/toolchain.md).
 *
 * Checked byte for byte against the seed's three apps on Flask 2.2.2 / werkzeug 2.2.2
 * (Debian python3-flask), 28 requests covering every case above: same status, content
 * type and body. werkzeug builds `Allow` from a set, so its order varies between runs.
 */
import { HttpRequestInterceptor } from '@mswjs/interceptors/http'
import { http, HttpResponse, type AnyHandler } from 'msw'
import { defineNetwork, InMemoryHandlersController, InterceptorSource } from 'msw/experimental'

export type CenterName = 'registry' | 'monitor' | 'config'

export const SEED_URLS: Readonly<Record<CenterName, string>> = {
  registry: 'http://registry.seed.test',
  monitor: 'http://monitor.seed.test',
  config: 'http://config.seed.test',
}

const PAGES = {
  400: ['Bad Request', 'The browser (or proxy) sent a request that this server could not understand.'],
  404: ['Not Found', 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.'],
  405: ['Method Not Allowed', 'The method is not allowed for the requested URL.'],
  500: ['Internal Server Error', 'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.'],
} as const

/** werkzeug's HTML error page. */
function errorPage(status: keyof typeof PAGES, headers: Record<string, string> = {}): Response {
  const [title, text] = PAGES[status]
  const html = `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n<h1>${title}</h1>\n<p>${text}</p>\n`
  return new HttpResponse(html, { status, headers: { 'content-type': 'text/html; charset=utf-8', ...headers } })
}

/** Flask 2.2 `jsonify` with debug off: sort_keys, compact separators, ensure_ascii, "\n". */
export function flaskJson(value: unknown): string {
  const sorted = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
  })
  return `${sorted.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`
}

function jsonify(value: unknown): Response {
  return new HttpResponse(flaskJson(value), { status: 200, headers: { 'content-type': 'application/json' } })
}

class ViewError extends Error {}

/** `request.json` of Flask 2.2: the parsed body, or a 400 page thrown. */
async function requestJson(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !/^application\/[^+]*\+json$/.test(type)) throw errorPage(400)
  try {
    return JSON.parse(await request.text()) as unknown
  } catch {
    throw errorPage(400)
  }
}

/** `value[key]` in Python: TypeError on a non-dict, KeyError on a missing key (both → 500). */
function pyIndex(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) throw new ViewError(key)
  return (value as Record<string, unknown>)[key]
}

/**
 * A Python dict keyed by JSON values: only str keys can match `request.args.get('name')`;
 * other hashable keys are stored but unreachable; lists and dicts are unhashable (500).
 */
export class PyDict {
  readonly entries = new Map<string, unknown>()
  set(key: unknown, value: unknown): void {
    if (typeof key === 'object' && key !== null) throw new ViewError('unhashable')
    this.entries.set(typeof key === 'string' ? `s:${key}` : `o:${JSON.stringify(key)}`, value)
  }
  get(name: string | null): { found: boolean; value?: unknown } {
    const id = `s:${name}`
    return name !== null && this.entries.has(id) ? { found: true, value: this.entries.get(id) } : { found: false }
  }
  /** The value stored under a str key (for test assertions). */
  peek(name: string): unknown {
    return this.entries.get(`s:${name}`)
  }
  clear(): void {
    this.entries.clear()
  }
}

export interface SeedCenters {
  readonly urls: Readonly<Record<CenterName, string>>
  readonly registry: PyDict
  readonly monitor: PyDict
  readonly config: PyDict
  /** Every request the centers answered, in order. */
  readonly requests: { center: CenterName; method: string; path: string; body: string }[]
  /** A center that is down answers with a network error (connection refused). */
  setDown(center: CenterName, down: boolean): void
  /** The next request to the center fails in its view (an unhandled exception): Flask's 500 page. */
  failNext(center: CenterName): void
  readonly handlers: AnyHandler[]
  reset(): void
}

type View = (request: Request) => Promise<Response>

async function run(view: View, request: Request): Promise<Response> {
  try {
    return await view(request)
  } catch (error) {
    if (error instanceof Response) return error
    if (error instanceof ViewError) return errorPage(500)
    throw error
  }
}

export function createSeedCenters(urls: Readonly<Record<CenterName, string>> = SEED_URLS): SeedCenters {
  const stores = { registry: new PyDict(), monitor: new PyDict(), config: new PyDict() }
  const down = new Set<CenterName>()
  const failing = new Set<CenterName>()
  const requests: SeedCenters['requests'] = []
  const query = (store: PyDict): View => async (request) => {
    const found = store.get(new URL(request.url).searchParams.get('name'))
    return found.found ? jsonify(found.value) : jsonify({ success: false })
  }
  // registry and monitor: `store[body['name']] = body`
  const registerByName = (store: PyDict): View => async (request) => {
    const body = await requestJson(request)
    store.set(pyIndex(body, 'name'), body)
    return jsonify({ success: true })
  }
  const update: View = async (request) => {
    const body = await requestJson(request)
    const name = pyIndex(body, 'name')
    const info = pyIndex(body, 'config_info')
    stores.config.set(name, info)
    return jsonify({ success: true })
  }
  const routes: Record<CenterName, Record<string, { method: string; allow: string; view: View }>> = {
    registry: {
      '/register': { method: 'POST', allow: 'OPTIONS, POST', view: registerByName(stores.registry) },
      '/query': { method: 'GET', allow: 'OPTIONS, GET, HEAD', view: query(stores.registry) },
    },
    monitor: {
      '/register': { method: 'POST', allow: 'OPTIONS, POST', view: registerByName(stores.monitor) },
      '/query': { method: 'GET', allow: 'OPTIONS, GET, HEAD', view: query(stores.monitor) },
    },
    config: {
      '/query': { method: 'GET', allow: 'OPTIONS, GET, HEAD', view: query(stores.config) },
      '/update': { method: 'POST', allow: 'OPTIONS, POST', view: update },
    },
  }
  const handlers: AnyHandler[] = (Object.keys(routes) as CenterName[]).map((center) =>
    http.all(`${urls[center]}/*`, async ({ request }) => {
      if (down.has(center)) return HttpResponse.error()
      const path = new URL(request.url).pathname
      requests.push({ center, method: request.method, path, body: request.method === 'GET' ? '' : await request.clone().text() })
      const route = routes[center][path]
      if (route === undefined) return errorPage(404)
      if (failing.delete(center)) return errorPage(500)
      // Flask answers OPTIONS itself and serves HEAD with every GET view.
      if (request.method === 'OPTIONS') return new HttpResponse(null, { status: 200, headers: { allow: route.allow } })
      if (request.method === 'HEAD' && route.method === 'GET') {
        const full = await run(route.view, request)
        return new HttpResponse(null, { status: full.status, headers: full.headers })
      }
      if (request.method !== route.method) return errorPage(405, { allow: route.allow })
      return run(route.view, request)
    }),
  )
  return {
    urls,
    ...stores,
    requests,
    handlers,
    setDown: (center, isDown) => void (isDown ? down.add(center) : down.delete(center)),
    failNext: (center) => void failing.add(center),
    reset() {
      stores.registry.clear()
      stores.monitor.clear()
      stores.config.clear()
      down.clear()
      failing.clear()
      requests.length = 0
    },
  }
}

/** Routes this process's HTTP (undici included) through the handlers; close() restores it. */
export function interceptNetwork(handlers: AnyHandler[]): { close(): Promise<void> } {
  const network = defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers: new InMemoryHandlersController(handlers),
    onUnhandledFrame: 'error',
    context: { quiet: true },
  })
  void network.enable()
  return {
    async close() {
      await network.disable()
    },
  }
}
