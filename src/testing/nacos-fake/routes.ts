/**
 * The HTTP face of the fake Nacos server: the v1 open API under `/nacos` (the routes the
 * 3.x compatibility switch keeps by default) plus login. Parameters come as query or
 * form fields; with auth on, a call needs `accessToken` (parameter, `accessToken` header
 * or Bearer) or the `username`/`password` parameters the Node client sends; 403 otherwise.
 */
import { randomBytes } from 'node:crypto'
import { json, text, type FakeAnswer, type FakeRequest } from '../registry-fakes/fake-http.js'
import { parseListening, type FakeConfigs } from './config.js'
import { NamingInputError, groupedName, type FakeNaming } from './naming.js'

export interface NacosRouteState {
  readonly naming: FakeNaming
  readonly configs: FakeConfigs
  readonly users: ReadonlyMap<string, string> | undefined
  readonly tokens: Map<string, number>
  readonly tokenTtlSeconds: number
  readonly cacheMillis: number
  readonly maxHoldMs: number
}

function params(req: FakeRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.fromEntries(req.query)
  const type = String(req.headers['content-type'] ?? '')
  if (req.body.length > 0 && type.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) out[k] = v
  }
  return out
}

function authorized(state: NacosRouteState, req: FakeRequest, p: Record<string, string | undefined>): boolean {
  if (state.users === undefined) return true
  const header = req.headers.accesstoken ?? req.headers.authorization
  const token = p.accessToken ?? (typeof header === 'string' ? header.replace(/^Bearer /, '') : undefined)
  if (token !== undefined) {
    const expires = state.tokens.get(token)
    return expires !== undefined && expires > Date.now()
  }
  return p.username !== undefined && state.users.get(p.username) === p.password
}

function login(state: NacosRouteState, p: Record<string, string | undefined>): FakeAnswer {
  if (state.users === undefined || p.username === undefined || state.users.get(p.username) !== p.password) return text(403, 'unknown user!')
  const token = randomBytes(24).toString('base64url')
  state.tokens.set(token, Date.now() + state.tokenTtlSeconds * 1000)
  return json(200, { accessToken: token, tokenTtl: state.tokenTtlSeconds, globalAdmin: false, username: p.username }, { authorization: `Bearer ${token}` })
}

export async function routeNacos(state: NacosRouteState, req: FakeRequest): Promise<FakeAnswer> {
  const p = params(req)
  if ((req.path === '/nacos/v1/auth/login' || req.path === '/nacos/v1/auth/users/login') && req.method === 'POST') return login(state, p)
  if (!authorized(state, req, p)) return text(403, 'user not found!')
  try {
    if (req.path.startsWith('/nacos/v1/ns/')) return naming(state, req, p)
    if (req.path === '/nacos/v1/cs/configs/listener' && req.method === 'POST') return await listener(state, req, p)
    if (req.path === '/nacos/v1/cs/configs') return configs(state, req, p)
  } catch (error) {
    if (error instanceof NamingInputError) return text(400, `caused: ${error.message};`)
    if (error instanceof SyntaxError) return text(400, `caused: ${error.message};`)
    throw error
  }
  return text(404, `no route for ${req.method} ${req.path}`)
}

function naming(state: NacosRouteState, req: FakeRequest, p: Record<string, string | undefined>): FakeAnswer {
  const ns = p.namespaceId || 'public'
  if (req.method === 'GET' && req.path === '/nacos/v1/ns/service/list') return serviceList(state, ns, p)
  if (!p.serviceName) return text(400, "caused: Required parameter 'serviceName' type String is not present;")
  const name = groupedName(p.serviceName, p.groupName ?? null)
  const route = `${req.method} ${req.path}`
  if (route === 'POST /nacos/v1/ns/instance') {
    state.naming.register(ns, name, p)
    return text(200, 'ok')
  }
  if (route === 'DELETE /nacos/v1/ns/instance') {
    state.naming.deregister(ns, name, p.ip ?? '', Number(p.port), p.clusterName ?? p.cluster ?? 'DEFAULT')
    return text(200, 'ok')
  }
  if (route === 'PUT /nacos/v1/ns/instance/beat') return json(200, state.naming.beat(ns, name, p))
  if (route === 'GET /nacos/v1/ns/instance/list') return json(200, state.naming.list(ns, name, p.clusters ?? '', p.healthyOnly === 'true', state.cacheMillis))
  return text(404, `no route for ${route}`)
}

function serviceList(state: NacosRouteState, ns: string, p: Record<string, string | undefined>): FakeAnswer {
  for (const name of ['pageNo', 'pageSize'] as const) {
    if (p[name] === undefined) return text(400, `caused: Required parameter '${name}' type String is not present;`)
  }
  // NumberUtils.toInt: what is not a number reads as 0.
  const toInt = (v: string): number => (/^-?[0-9]{1,9}$/.test(v) ? Number(v) : 0)
  return json(200, state.naming.serviceList(ns, p.groupName || 'DEFAULT_GROUP', toInt(p.pageNo!), toInt(p.pageSize!)))
}

function configs(state: NacosRouteState, req: FakeRequest, p: Record<string, string | undefined>): FakeAnswer {
  const tenant = p.tenant ?? ''
  if (!p.dataId || !p.group) return text(400, "caused: Required parameter 'dataId' or 'group' is not present;")
  if (req.method === 'GET') {
    const c = state.configs.get(tenant, p.group, p.dataId)
    if (c === undefined) return text(404, 'config data not exist')
    return { status: 200, body: c.content, headers: { 'content-type': 'text/plain; charset=UTF-8', 'content-md5': c.md5, 'config-type': c.type } }
  }
  if (req.method === 'POST') {
    if (p.content === undefined || p.content === '') return text(400, "caused: Required parameter 'content' type String is not present;")
    const casHeader = req.headers.casmd5
    const cas = typeof casHeader === 'string' ? casHeader : undefined
    if (!state.configs.publish(tenant, p.group, p.dataId, p.content, p.type ?? 'text', cas)) {
      return text(500, 'Cas publish fail, server md5 may have changed.')
    }
    return json(200, true)
  }
  if (req.method === 'DELETE') {
    state.configs.remove(tenant, p.group, p.dataId)
    return json(200, true)
  }
  return text(405, 'method not allowed')
}

async function listener(state: NacosRouteState, req: FakeRequest, p: Record<string, string | undefined>): Promise<FakeAnswer> {
  const probe = p['Listening-Configs']
  if (probe === undefined) return text(400, 'invalid probeModify')
  const records = parseListening(probe)
  if (records.length > 10_000) return text(400, 'too many listening configs')
  const timeout = Number(req.headers['long-pulling-timeout'])
  const noHangup = req.headers['long-pulling-timeout-no-hangup'] === 'true'
  const holdMs = Number.isFinite(timeout) && !noHangup ? Math.min(Math.max(10_000, timeout - 500), state.maxHoldMs) : undefined
  const body = await state.configs.listen(records, p.tenant ?? '', holdMs, req.signal)
  return { status: 200, body, headers: { 'content-type': 'text/html;charset=UTF-8', pragma: 'no-cache' } }
}
