/**
 * The transport-neutral protocol v1 handler over a scripted store: routing, the auth hook,
 * bodies, the long-poll rule and error answers, as both the reference server and the
 * testing kit get them.
 */
import { describe, expect, it, vi } from 'vitest'
import { HttpError } from '../../src/server/http-error.js'
import { DROPPED, type Answer } from '../../src/server/protocol/answer.js'
import { createProtocolHandler, type ProtocolHandlerOptions } from '../../src/server/protocol/protocol-handler.js'
import type { ProtocolRequest } from '../../src/server/protocol/request.js'
import type { ProtocolStore } from '../../src/server/protocol/store.js'

interface Sent {
  readonly method?: string
  readonly path: string
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

function request({ method = 'GET', path, body, headers = {} }: Sent): ProtocolRequest {
  const [pathname, search = ''] = path.split('?') as [string, string?]
  const text = body === undefined ? '' : JSON.stringify(body)
  return {
    method,
    segments: pathname.slice(1).split('/'),
    query: new URLSearchParams(search),
    signal: new AbortController().signal,
    client: '192.0.2.1',
    header: (name) => headers[name],
    hasBody: text !== '',
    bytes: async () => Buffer.from(text),
    json: async () => (text === '' ? undefined : (JSON.parse(text) as unknown)),
  }
}

function store(overrides: Partial<ProtocolStore> = {}): ProtocolStore {
  return {
    resourceIndex: () => 7n,
    waitForChange: async () => undefined,
    listInstances: (service, _caller, held) => ({ json: JSON.stringify({ service, held }), index: 7n }),
    listServices: () => ({ services: [], index: 3n }),
    register: (_s, _i, spec) => ({ instance: { ttlMs: spec.ttlMs }, index: 8n }),
    renew: () => undefined,
    deregister: () => ({ removed: true, index: 9n }),
    listConfig: () => ({ keys: [{ key: 'a', version: '5' }], index: 5n }),
    getConfig: () => ({ entry: { json: '{"x":1}', version: '5' }, index: 6n }),
    putConfig: async () => ({ version: '10', index: 10n }),
    deleteConfig: () => 11n,
    pushMetrics: () => true,
    health: () => ({ index: '12', extra: true }),
    ...overrides,
  }
}

async function answer(sent: Sent, options: Partial<ProtocolHandlerOptions> = {}): Promise<Answer & { json: any }> {
  const handler = createProtocolHandler({ store: store(), ...options })
  const result = await handler.handle(request(sent))
  return { ...result, json: result.text === '' ? undefined : JSON.parse(String(result.text)) }
}

describe('the protocol handler', () => {
  it('answers 404 for unknown paths and 405 with Allow (GET adds HEAD); HEAD is answered as GET', async () => {
    expect(await answer({ path: '/v1/nothing' })).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } })
    expect(await answer({ method: 'POST', path: '/v1/config/a' })).toMatchObject({ status: 405, headers: { allow: 'GET, PUT, DELETE, HEAD' } })
    expect(await answer({ method: 'GET', path: '/v1/metrics' })).toMatchObject({ status: 405, headers: { allow: 'POST' } })
    expect(await answer({ method: 'HEAD', path: '/v1/health' })).toMatchObject({ status: 200, index: '12' })
  })

  it('answers health from the store, status first', async () => {
    const health = await answer({ path: '/v1/health' })
    expect(health.text).toBe('{"status":"ok","index":"12","extra":true}')
  })

  it('asks the auth hook for the right the route needs, never for health', async () => {
    const authorize = vi.fn()
    await answer({ path: '/v1/health' }, { authorize })
    expect(authorize).not.toHaveBeenCalled()
    await answer({ path: '/v1/config' }, { authorize })
    await answer({ method: 'DELETE', path: '/v1/config/a' }, { authorize })
    expect(authorize.mock.calls.map((c) => c[1])).toEqual(['read', 'write'])
    const refusing = () => {
      throw new HttpError(401, 'unauthorized', 'no token', { headers: { 'www-authenticate': 'Bearer' } })
    }
    expect(await answer({ path: '/v1/config' }, { authorize: refusing })).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer' } })
  })

  it('refuses a body on a route that takes none, so a DELETE never ignores its ifVersion', async () => {
    const refused = await answer({ method: 'DELETE', path: '/v1/config/a', body: { ifVersion: '1' } })
    expect([refused.status, refused.json.error.message]).toEqual([400, 'DELETE on this path takes no request body (parameters go in the query)'])
  })

  it('answers a store that answers at once without a detour, and one that answers later', async () => {
    const registered = await answer({ method: 'PUT', path: '/v1/services/orders/instances/o1', body: { address: '10.0.0.1', port: 80, ttlMs: 5_000 } })
    expect(registered).toMatchObject({ status: 200, index: '8', json: { instance: { ttlMs: 5_000 }, ttlMs: 5_000, index: '8' } })
    const written = await answer({ method: 'PUT', path: '/v1/config/a', body: { value: { on: true } } })
    expect(written.text).toBe('{"key":"a","value":{"on":true},"version":"10","index":"10"}')
  })

  it('holds a read only while the resource is at the index the client sent, then answers the state as held', async () => {
    const waitForChange = vi.fn(async () => undefined)
    const handler = createProtocolHandler({ store: store({ waitForChange }) })
    const read = async (path: string) => JSON.parse(String((await handler.handle(request({ path }))).text)) as { held: boolean }
    expect(await read('/v1/services/orders')).toMatchObject({ held: false })
    expect(await read('/v1/services/orders?index=6')).toMatchObject({ held: false }) // moved on (or reset): at once
    expect(waitForChange).not.toHaveBeenCalled()
    expect(await read('/v1/services/orders?index=7&wait=2s')).toMatchObject({ held: true })
    expect(waitForChange).toHaveBeenCalledWith({ kind: 'service', service: 'orders' }, 7n, 2_000, expect.anything())
  })

  it('does not hold a resource the store cannot wait on', async () => {
    const waitForChange = vi.fn(async () => undefined)
    const handler = createProtocolHandler({ store: store({ waitForChange, resourceIndex: () => undefined }) })
    expect((await handler.handle(request({ path: '/v1/services?index=3' }))).status).toBe(200)
    expect(waitForChange).not.toHaveBeenCalled()
  })

  it('checks names, bodies and blocking parameters before the store sees them', async () => {
    const register = vi.fn()
    const options = { store: store({ register }) }
    expect((await answer({ path: '/v1/services/orders?index=x' }, options)).json.error.message).toBe('index must be a decimal integer, not "x"')
    expect((await answer({ method: 'PUT', path: '/v1/services/orders/instances/o1', body: { port: 80 } }, options)).status).toBe(400)
    expect((await answer({ path: '/v1/services/bad name' }, options)).status).toBe(400)
    expect(register).not.toHaveBeenCalled()
  })

  it('answers a missing instance and a missing key 404, the key with its index', async () => {
    expect((await answer({ method: 'PUT', path: '/v1/services/orders/instances/o1/heartbeat', body: {} })).json.error.message).toBe(
      'instance "o1" of service "orders" is not registered',
    )
    const missing = await answer({ path: '/v1/config/a' }, { store: store({ getConfig: () => ({ entry: undefined, index: 4n }) }) })
    expect(missing).toMatchObject({ status: 404, index: '4', json: { error: { code: 'not_found', index: '4' } } })
  })

  it('translates failures that are not HttpErrors (500 by default) and tells onError of every error answer', async () => {
    const broken = store({
      deregister: () => {
        throw new Error('boom')
      },
    })
    const onError = vi.fn()
    const failed = await answer({ method: 'DELETE', path: '/v1/services/orders/instances/o1' }, { store: broken, onError })
    expect([failed.status, failed.json]).toEqual([500, { error: { code: 'internal', message: 'internal server error' } }])
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ status: 500 }))
    const dropped = await answer({ method: 'DELETE', path: '/v1/services/orders/instances/o1' }, { store: broken, translateError: () => DROPPED })
    expect(dropped.drop).toBe(true)
  })

  it('serves extra routes through the same router and auth hook', async () => {
    const authorize = vi.fn()
    const extra = { path: '/v1/extra/:name', methods: { GET: { handler: ({ params }: { params: Record<string, string> }) => ({ status: 200, text: JSON.stringify(params) }), right: 'read' as const, body: false } } }
    const got = await answer({ path: '/v1/extra/x' }, { extraRoutes: [extra], authorize })
    expect([got.status, got.json, authorize.mock.calls.length]).toEqual([200, { name: 'x' }, 1])
  })
})
