/**
 * Transport behaviour against msw fakes (socket interceptor): retries, Retry-After,
 * failover, auth, status mapping, validation, close and abort.
 */
import { http, HttpResponse, delay } from 'msw'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  AuthError,
  ClientClosedError,
  ConflictError,
  GovernanceError,
  InvalidArgumentError,
  NotFoundError,
  RequestRejectedError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
} from '../../src/errors.js'
import { createTransport, type Transport, type TransportOptions } from '../../src/transport/index.js'
import { refusedUrl } from '../helpers/local-server.js'
import { startMswNetwork, type MswNetwork } from '../helpers/msw-network.js'

let net: MswNetwork
const transports: Transport[] = []
const unhandledRejections: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason)

function transport(options: Partial<TransportOptions> = {}): Transport {
  const t = createTransport({ servers: ['http://gov.test'], retry: { minDelayMs: 5, maxDelayMs: 20 }, ...options })
  transports.push(t)
  return t
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  net = await startMswNetwork()
})
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
  net.reset()
})
afterAll(async () => {
  await net.stop()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandledRejections).toEqual([])
})

describe('retries', () => {
  it('retries a GET after 503 and returns the 200', async () => {
    let hits = 0
    net.use(http.get('http://gov.test/v1/x', () => (++hits === 1 ? HttpResponse.json({ error: { code: 'unavailable', message: 'restarting' } }, { status: 503 }) : HttpResponse.json({ ok: 1 }))))
    const res = await transport().request({ method: 'GET', path: '/v1/x' })
    expect(res).toMatchObject({ status: 200, body: { ok: 1 }, server: 'http://gov.test' })
    expect(hits).toBe(2)
  })

  it('gives up after the configured retries with ServerUnavailableError', async () => {
    let hits = 0
    net.use(http.get('http://gov.test/v1/x', () => (hits++, HttpResponse.json({ error: { code: 'unavailable', message: 'down' } }, { status: 503 }))))
    const err = await transport({ retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 } }).request({ method: 'GET', path: '/v1/x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect(err).toMatchObject({ status: 503, details: { serverCode: 'unavailable' } })
    expect((err as Error).message).toContain('GET http://gov.test/v1/x answered 503 unavailable: down')
    expect(hits).toBe(4)
  })

  it('does not retry a POST after 503, but does when it is marked idempotent', async () => {
    let hits = 0
    net.use(http.post('http://gov.test/v1/m', () => (++hits % 2 === 1 ? new HttpResponse(null, { status: 503 }) : HttpResponse.json({ accepted: 1 }, { status: 202 }))))
    const t = transport()
    await expect(t.request({ method: 'POST', path: '/v1/m', body: {} })).rejects.toBeInstanceOf(ServerUnavailableError)
    expect(hits).toBe(1)
    hits = 0
    await expect(t.request({ method: 'POST', path: '/v1/m', body: {}, idempotent: true })).resolves.toMatchObject({ status: 202 })
    expect(hits).toBe(2)
  })

  it('does not retry a 500, a 400 or a 404', async () => {
    let hits = 0
    for (const status of [500, 400, 404]) {
      hits = 0
      net.use(http.get('http://gov.test/v1/x', () => (hits++, new HttpResponse('nope', { status }))))
      await expect(transport().request({ method: 'GET', path: '/v1/x' })).rejects.toBeInstanceOf(GovernanceError)
      expect(hits).toBe(1)
    }
  })

  it('honours Retry-After in seconds on a 429', async () => {
    const times: number[] = []
    net.use(http.get('http://gov.test/v1/x', () => (times.push(Date.now()), times.length === 1 ? new HttpResponse(null, { status: 429, headers: { 'retry-after': '1' } }) : HttpResponse.json({ ok: true }))))
    await expect(transport().request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ body: { ok: true } })
    expect(times).toHaveLength(2)
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950)
  })

  it('honours Retry-After as an HTTP date', async () => {
    let hits = 0
    net.use(http.get('http://gov.test/v1/x', () => (++hits === 1 ? new HttpResponse(null, { status: 503, headers: { 'retry-after': new Date(Date.now() - 1000).toUTCString() } }) : HttpResponse.json(1))))
    await expect(transport().request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ body: 1 })
    expect(hits).toBe(2)
  })

  it('fails at once when Retry-After is beyond the deadline, instead of waiting into a timeout', async () => {
    net.use(http.get('http://gov.test/v1/x', () => new HttpResponse(null, { status: 429, headers: { 'retry-after': '120' } })))
    const started = Date.now()
    const err = await transport({ requestTimeoutMs: 3000 }).request({ method: 'GET', path: '/v1/x' }).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(1000)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect(err).toMatchObject({ status: 429, details: { retryAfterMs: 120_000 } })
  })

  it('retry: false makes a single attempt', async () => {
    let hits = 0
    net.use(http.get('http://gov.test/v1/x', () => (hits++, new HttpResponse(null, { status: 503 }))))
    await expect(transport().request({ method: 'GET', path: '/v1/x', retry: false })).rejects.toBeInstanceOf(ServerUnavailableError)
    expect(hits).toBe(1)
  })
})

describe('failover', () => {
  it('moves from a dead origin to a live one and stays there', async () => {
    const dead = await refusedUrl()
    let hits = 0
    net.use(http.get('http://live.test/v1/x', () => (hits++, HttpResponse.json({ ok: true }))))
    const t = transport({ servers: [dead, 'http://live.test'] })
    await expect(t.request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ server: 'http://live.test' })
    await expect(t.request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ server: 'http://live.test' })
    expect(hits).toBe(2)
    // The dead origin was tried once only: the second call went straight to the live one.
    expect(net.unhandled.filter((u) => u.startsWith(dead))).toHaveLength(1)
  })

  it('fails a POST over on a connect failure (nothing was sent)', async () => {
    const dead = await refusedUrl()
    net.use(http.post('http://live.test/v1/metrics', () => HttpResponse.json({ accepted: 0 }, { status: 202 })))
    const res = await transport({ servers: [dead, 'http://live.test'] }).request({ method: 'POST', path: '/v1/metrics', body: { points: [] } })
    expect(res).toMatchObject({ status: 202, server: 'http://live.test' })
  })

  it('retries a POST against a single dead origin (connect failure), then reports it', async () => {
    const dead = await refusedUrl()
    const err = await transport({ servers: [dead] }).request({ method: 'POST', path: '/v1/x', body: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect((err as Error).message).toMatch(/cannot connect \(ECONNREFUSED/)
    expect((err as GovernanceError).cause).toBeDefined()
    expect(net.unhandled.filter((u) => u.startsWith(dead))).toHaveLength(3)
  })

  it('moves on after a 502 and keeps the server that answered', async () => {
    let a = 0
    let b = 0
    net.use(
      http.get('http://a.test/v1/x', () => (a++, new HttpResponse('<h1>Bad Gateway</h1>', { status: 502 }))),
      http.get('http://b.test/v1/x', () => (b++, HttpResponse.json('b'))),
    )
    const t = transport({ servers: ['http://a.test', 'http://b.test'] })
    await expect(t.request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ body: 'b' })
    await expect(t.request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ body: 'b' })
    expect([a, b]).toEqual([1, 2])
  })

  it('keeps a base path prefix', async () => {
    net.use(http.get('http://gov.test/prefix/v1/x', ({ request }) => HttpResponse.json(new URL(request.url).search)))
    const res = await transport({ servers: ['http://gov.test/prefix/'] }).request({ method: 'GET', path: '/v1/x', query: { index: '4', wait: '60s', skip: undefined, q: 'a b&c' } })
    expect(res.body).toBe('?index=4&wait=60s&q=a%20b%26c')
    expect(res.server).toBe('http://gov.test/prefix')
  })
})

describe('headers and bodies', () => {
  it('sends the bearer token, custom headers and a JSON body', async () => {
    let seen: Record<string, string | null> = {}
    let body: unknown
    net.use(
      http.put('http://gov.test/v1/x', async ({ request }) => {
        seen = { auth: request.headers.get('authorization'), type: request.headers.get('content-type'), extra: request.headers.get('x-extra'), call: request.headers.get('x-call') }
        body = await request.json()
        return HttpResponse.json({ ok: true })
      }),
    )
    await transport({ token: 's3cret', headers: { 'X-Extra': 'yes' } }).request({ method: 'PUT', path: '/v1/x', body: { a: [1, 'b'] }, headers: { 'X-Call': 'c' } })
    expect(seen).toEqual({ auth: 'Bearer s3cret', type: 'application/json', extra: 'yes', call: 'c' })
    expect(body).toEqual({ a: [1, 'b'] })
  })

  it('asks authorization() on every call', async () => {
    let n = 0
    const seen: (string | null)[] = []
    net.use(http.get('http://gov.test/v1/x', ({ request }) => (seen.push(request.headers.get('authorization')), HttpResponse.json(null))))
    const t = transport({ authorization: () => `tok-${++n}` })
    await t.request({ method: 'GET', path: '/v1/x' })
    await t.request({ method: 'GET', path: '/v1/x' })
    expect(seen).toEqual(['tok-1', 'tok-2'])
  })

  it('decodes an empty body as undefined and returns accepted statuses', async () => {
    net.use(
      http.delete('http://gov.test/v1/x', () => new HttpResponse(null, { status: 204 })),
      http.get('http://gov.test/v1/x', () => HttpResponse.json({ error: { code: 'not_found', message: 'no key', index: '3' } }, { status: 404, headers: { 'x-governance-index': '3' } })),
    )
    const t = transport()
    await expect(t.request({ method: 'DELETE', path: '/v1/x' })).resolves.toMatchObject({ status: 204, body: undefined })
    const res = await t.request({ method: 'GET', path: '/v1/x', accept: [404] })
    expect(res).toMatchObject({ status: 404, body: { error: { index: '3' } } })
    expect(res.headers['x-governance-index']).toBe('3')
  })

  it('rejects a body it cannot encode', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(transport().request({ method: 'PUT', path: '/v1/x', body: cyclic })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(transport().request({ method: 'PUT', path: '/v1/x', body: 1n })).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

describe('status mapping', () => {
  const cases: [number, new (...a: never[]) => GovernanceError][] = [
    [400, RequestRejectedError],
    [401, AuthError],
    [403, AuthError],
    [404, NotFoundError],
    [405, RequestRejectedError],
    [409, ConflictError],
    [413, RequestRejectedError],
    [415, RequestRejectedError],
    [422, RequestRejectedError],
    [500, ServerError],
    [501, ServerError],
  ]
  it.each(cases)('maps %i', async (status, cls) => {
    net.use(http.post('http://gov.test/v1/x', () => HttpResponse.json({ error: { code: `c${status}`, message: `the server says ${status}` } }, { status })))
    const err = await transport().request({ method: 'POST', path: '/v1/x', body: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(cls)
    expect(err).toMatchObject({ status, details: { url: 'http://gov.test/v1/x', method: 'POST', serverCode: `c${status}` } })
    expect((err as Error).message).toBe(`POST http://gov.test/v1/x answered ${status} c${status}: the server says ${status}`)
  })

  it("reads etcd's gateway error body", async () => {
    net.use(http.post('http://gov.test/v3/kv/put', () => HttpResponse.json({ error: 'etcdserver: user name is empty', message: 'etcdserver: user name is empty', code: 3 }, { status: 400 })))
    const err = await transport().request({ method: 'POST', path: '/v3/kv/put', body: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RequestRejectedError)
    expect((err as Error).message).toContain('answered 400 3: etcdserver: user name is empty')
  })
})

describe('validation', () => {
  const bad: [string, Partial<TransportOptions>, RegExp][] = [
    ['no servers', { servers: [] }, /servers must be a non-empty array/],
    ['ftp', { servers: ['ftp://x'] }, /servers\[0\] must be an http or https URL, got "ftp:\/\/x"/],
    ['not a URL', { servers: ['http://ok.test', 'nope'] }, /transport\.servers\[1\] must be a valid URL, got "nope"/],
    ['credentials', { servers: ['http://u:p@x.test'] }, /servers\[0\] must not carry credentials/],
    ['timeout', { requestTimeoutMs: 0 }, /transport\.requestTimeoutMs must be a positive integer \(ms\), got 0/],
    ['cap', { maxResponseBytes: -1 }, /transport\.maxResponseBytes must be a positive integer, got -1/],
    ['retries', { retry: { retries: 1.5 } }, /transport\.retry\.retries must be a non-negative integer, got 1\.5/],
    ['delays', { retry: { minDelayMs: 500, maxDelayMs: 100 } }, /transport\.retry\.minDelayMs must not exceed transport\.retry\.maxDelayMs \(100\), got 500/],
    ['cert alone', { tls: { cert: 'x' } }, /transport\.tls\.cert and transport\.tls\.key must be given together/],
    ['token', { token: 'a b' }, /token must not contain whitespace/],
    ['header', { headers: { 'x-a': 'a\r\nb' } }, /headers\["x-a"\] must be a string without CR, LF or NUL/],
  ]
  it.each(bad)('rejects %s', (_name, options, message) => {
    let err: unknown
    try {
      createTransport({ servers: ['http://gov.test'], ...options })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect((err as Error).message).toMatch(message)
  })

  it('rejects bad call options', async () => {
    const t = transport()
    await expect(t.request({ method: 'PATCH' as 'GET', path: '/x' })).rejects.toThrow(/method must be GET, POST, PUT or DELETE, got "PATCH"/)
    await expect(t.request({ method: 'GET', path: 'x' })).rejects.toThrow(/path must start with "\/"/)
    await expect(t.request({ method: 'GET', path: '/x', timeoutMs: -5 })).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

describe('deadline, abort and close', () => {
  it('rejects with TimeoutError when the deadline passes, retries included', async () => {
    net.use(http.get('http://gov.test/v1/slow', async () => (await delay('infinite'), HttpResponse.json(1))))
    const started = Date.now()
    const err = await transport({ requestTimeoutMs: 300 }).request({ method: 'GET', path: '/v1/slow' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as Error).message).toBe('GET http://gov.test/v1/slow did not finish within 300 ms')
    expect(Date.now() - started).toBeLessThan(1500)
  })

  it("rejects with the caller's abort reason at once", async () => {
    net.use(http.get('http://gov.test/v1/slow', async () => (await delay('infinite'), HttpResponse.json(1))))
    const controller = new AbortController()
    const reason = new Error('caller gave up')
    const pending = transport().request({ method: 'GET', path: '/v1/slow', signal: controller.signal })
    setTimeout(() => controller.abort(reason), 20)
    await expect(pending).rejects.toBe(reason)
    await expect(transport().request({ method: 'GET', path: '/v1/slow', signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('close() is idempotent, ends calls in flight and refuses new ones', async () => {
    net.use(http.get('http://gov.test/v1/slow', async () => (await delay('infinite'), HttpResponse.json(1))))
    const t = createTransport({ servers: ['http://gov.test'] })
    const pending = t.request({ method: 'GET', path: '/v1/slow' }).catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 20))
    await Promise.all([t.close(), t.close()])
    expect(await pending).toBeInstanceOf(ClientClosedError)
    await expect(t.request({ method: 'GET', path: '/v1/x' })).rejects.toBeInstanceOf(ClientClosedError)
    await expect(t.stream({ method: 'POST', path: '/v3/watch' })).rejects.toBeInstanceOf(ClientClosedError)
  })
})
