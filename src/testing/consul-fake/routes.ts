/**
 * The HTTP face of the fake agent: the routes the official `consul` client and our backend
 * use, answered as consul's api-docs describe (text/plain errors, X-Consul-Index on every
 * read, blocking queries with `index` and `wait`, 5 m default, 10 m cap, jitter up to wait/16).
 */
import { ChangeWaiters, json, parseGoDuration, text, type FakeAnswer, type FakeRequest } from '../registry-fakes/fake-http.js'
import { AgentInputError, FAKE_NODE, type FakeCatalog, type StoredCheck, type StoredService } from './catalog.js'
import { MAX_VALUE_BYTES, encodeEntry, runKvTxn, type FakeKv, type TxnOp } from './kv.js'

export interface ConsulRouteState {
  readonly catalog: FakeCatalog
  readonly kv: FakeKv
  readonly waiters: ChangeWaiters
  /** The ACL token every request must carry, when set. */
  readonly aclToken: string | undefined
  /** The cap on `wait`, so tests can hold shorter. */
  readonly maxWaitMs: number
}

const DEFAULT_WAIT_MS = 5 * 60_000

function readToken(req: FakeRequest): string | undefined {
  const header = req.headers['x-consul-token']
  if (typeof header === 'string' && header !== '') return header
  const auth = req.headers.authorization
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7)
  return req.query.get('token') ?? undefined
}

function checkAcl(state: ConsulRouteState, req: FakeRequest): FakeAnswer | undefined {
  if (state.aclToken === undefined) return undefined
  const token = readToken(req)
  if (token === undefined) return text(403, 'Permission denied')
  if (token !== state.aclToken) return text(403, 'ACL not found')
  return undefined
}

function indexHeaders(index: number): Record<string, string> {
  return { 'x-consul-index': String(index), 'x-consul-knownleader': 'true', 'x-consul-lastcontact': '0' }
}

/** Holds the request while `index` is current, as a blocking query does. */
async function block(state: ConsulRouteState, req: FakeRequest, currentIndex: () => number): Promise<void> {
  const asked = Number(req.query.get('index') ?? '0')
  if (!Number.isFinite(asked) || asked <= 0) return
  const waitParam = req.query.get('wait')
  const waitMs = Math.min(waitParam === null ? DEFAULT_WAIT_MS : (parseGoDuration(waitParam) ?? DEFAULT_WAIT_MS), state.maxWaitMs)
  const start = currentIndex()
  const jitter = Math.random() * (waitMs / 16)
  await state.waiters.wait(() => currentIndex() > asked || currentIndex() !== start, waitMs + jitter, req.signal)
}

function dcMismatch(req: FakeRequest): FakeAnswer | undefined {
  const dc = req.query.get('dc')
  return dc !== null && dc !== '' && dc !== FAKE_NODE.Datacenter ? text(500, `No path to datacenter`) : undefined
}

export async function routeConsul(state: ConsulRouteState, req: FakeRequest): Promise<FakeAnswer> {
  const denied = checkAcl(state, req)
  if (denied !== undefined) return denied
  const p = req.path
  try {
    if (p === '/v1/agent/service/register' && req.method === 'PUT') {
      state.catalog.register(JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>, req.query.has('replace-existing-checks'))
      return text(200, '')
    }
    if (p.startsWith('/v1/agent/service/deregister/') && req.method === 'PUT') {
      state.catalog.deregister(decodeURIComponent(p.slice('/v1/agent/service/deregister/'.length)))
      return text(200, '')
    }
    const check = /^\/v1\/agent\/check\/(pass|warn|fail|update)\/(.+)$/.exec(p)
    if (check && req.method === 'PUT') return updateCheck(state, req, check[1]!, decodeURIComponent(check[2]!))
    if (p === '/v1/agent/services' && req.method === 'GET') return json(200, agentServices(state.catalog))
    if (p === '/v1/agent/checks' && req.method === 'GET') return json(200, Object.fromEntries([...state.catalog.checks.values()].map((c) => [c.CheckID, encodeCheck(c)])))
    if (p.startsWith('/v1/health/service/') && req.method === 'GET') return await healthService(state, req, decodeURIComponent(p.slice('/v1/health/service/'.length)))
    if (p.startsWith('/v1/catalog/service/') && req.method === 'GET') return await catalogService(state, req, decodeURIComponent(p.slice('/v1/catalog/service/'.length)))
    if (p === '/v1/catalog/services' && req.method === 'GET') return catalogServices(state)
    if (p.startsWith('/v1/kv/')) return await routeKv(state, req, decodeURIComponent(p.slice('/v1/kv/'.length)))
    if (p === '/v1/txn' && req.method === 'PUT') return txn(state, req)
    if (p === '/v1/status/leader') return json(200, '127.0.0.1:8300')
  } catch (error) {
    if (error instanceof AgentInputError) return text(400, error.message)
    if (error instanceof SyntaxError) return text(400, `Request decode failed: ${error.message}`)
    throw error
  }
  return text(req.method === 'GET' || req.method === 'PUT' || req.method === 'DELETE' ? 404 : 405, `no route for ${req.method} ${p}`)
}

function updateCheck(state: ConsulRouteState, req: FakeRequest, verb: string, id: string): FakeAnswer {
  let status: StoredCheck['Status'] = verb === 'pass' ? 'passing' : verb === 'warn' ? 'warning' : 'critical'
  let output = req.query.get('note') ?? ''
  if (verb === 'update') {
    const body = JSON.parse(req.body.toString('utf8') || '{}') as { Status?: string; Output?: string }
    if (body.Status !== 'passing' && body.Status !== 'warning' && body.Status !== 'critical') return text(400, `Invalid check status: ${JSON.stringify(body.Status)}`)
    status = body.Status
    output = body.Output ?? ''
  }
  if (!state.catalog.updateTtl(id, status, output)) {
    return text(404, `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`)
  }
  return text(200, '')
}

function encodeService(s: StoredService): Record<string, unknown> {
  const { CreateIndex, ModifyIndex, ...rest } = s
  return { ...rest, Datacenter: FAKE_NODE.Datacenter, CreateIndex, ModifyIndex }
}

function encodeCheck(c: StoredCheck): Record<string, unknown> {
  return {
    Node: FAKE_NODE.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: [],
    Type: c.Type,
    CreateIndex: c.CreateIndex,
    ModifyIndex: c.ModifyIndex,
  }
}

const SERF_CHECK = { Node: FAKE_NODE.Node, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Notes: '', Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '' }

function agentServices(catalog: FakeCatalog): Record<string, unknown> {
  return Object.fromEntries([...catalog.services.values()].map((s) => [s.ID, encodeService(s)]))
}

async function healthService(state: ConsulRouteState, req: FakeRequest, name: string): Promise<FakeAnswer> {
  const wrongDc = dcMismatch(req)
  if (wrongDc) return wrongDc
  await block(state, req, () => state.catalog.indexOf(name))
  const passingOnly = req.query.has('passing') && req.query.get('passing') !== 'false'
  const entries = state.catalog
    .instancesOf(name)
    .map((s) => ({
      Node: { ...FAKE_NODE, TaggedAddresses: { lan: FAKE_NODE.Address, wan: FAKE_NODE.Address }, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
      Service: encodeService(s),
      Checks: [SERF_CHECK, ...state.catalog.checksOf(s.ID).map(encodeCheck)],
    }))
    .filter((e) => !passingOnly || e.Checks.every((c) => c.Status === 'passing'))
  return json(200, entries, indexHeaders(state.catalog.indexOf(name)))
}

async function catalogService(state: ConsulRouteState, req: FakeRequest, name: string): Promise<FakeAnswer> {
  await block(state, req, () => state.catalog.indexOf(name))
  const rows = state.catalog.instancesOf(name).map((s) => ({
    ID: FAKE_NODE.ID,
    Node: FAKE_NODE.Node,
    Address: FAKE_NODE.Address,
    Datacenter: FAKE_NODE.Datacenter,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ServicePort: s.Port,
    ServiceMeta: s.Meta,
    ServiceWeights: s.Weights,
    ServiceEnableTagOverride: s.EnableTagOverride,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  }))
  return json(200, rows, indexHeaders(state.catalog.indexOf(name)))
}

function catalogServices(state: ConsulRouteState): FakeAnswer {
  const out: Record<string, string[]> = { consul: [] }
  for (const s of state.catalog.services.values()) out[s.Service] = [...new Set([...(out[s.Service] ?? []), ...s.Tags])]
  return json(200, out, indexHeaders(state.catalog.catalogIndex))
}

function readIndexParam(req: FakeRequest, name: string): number | undefined {
  const raw = req.query.get(name)
  if (raw === null) return undefined
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN
}

async function routeKv(state: ConsulRouteState, req: FakeRequest, key: string): Promise<FakeAnswer> {
  const recurse = req.query.has('recurse')
  if (req.method === 'GET') {
    await block(state, req, () => state.kv.indexOf(key, recurse))
    const headers = indexHeaders(state.kv.indexOf(key, recurse))
    const found = recurse ? state.kv.prefixed(key) : [state.kv.get(key)].filter((e) => e !== undefined)
    if (found.length === 0) return text(404, '', headers)
    if (req.query.has('keys')) return json(200, found.map((e) => e.Key), headers)
    if (req.query.has('raw') && !recurse) return { status: 200, body: found[0]!.Value, headers: { ...headers, 'content-type': 'text/plain; charset=utf-8' } }
    return json(200, found.map((e) => encodeEntry(e)), headers)
  }
  const cas = readIndexParam(req, 'cas')
  if (Number.isNaN(cas)) return text(400, 'Invalid cas index')
  if (req.method === 'PUT') {
    if (req.body.length > MAX_VALUE_BYTES) return text(413, `Request body(${req.body.length} bytes) too large, max size: ${MAX_VALUE_BYTES} bytes. See https://developer.hashicorp.com/consul/docs/agent/config/config-files#kv_max_value_size.`)
    const flags = Number(req.query.get('flags') ?? '0')
    return json(200, state.kv.set(key, req.body, flags, cas))
  }
  if (req.method === 'DELETE') {
    if (cas !== undefined && cas === 0) return text(400, 'Conflicting flags: cas must be > 0')
    return json(200, state.kv.delete(key, recurse, cas))
  }
  return text(405, 'method not allowed')
}

function txn(state: ConsulRouteState, req: FakeRequest): FakeAnswer {
  const ops = JSON.parse(req.body.toString('utf8')) as { KV?: TxnOp }[]
  if (!Array.isArray(ops) || ops.length > 128) return text(413, 'Transaction contains too many operations')
  if (ops.some((o) => o.KV === undefined)) return text(400, 'Only KV operations are supported by this fake')
  const outcome = runKvTxn(state.kv, ops.map((o) => o.KV!))
  if (!outcome.ok) return json(409, { Results: null, Errors: outcome.errors })
  return json(200, { Results: outcome.results, Errors: null }, indexHeaders(state.kv.tableIndex))
}
