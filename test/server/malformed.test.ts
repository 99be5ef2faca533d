/**
 * Every endpoint gets malformed bodies, wrong types, oversized bodies and odd names; every
 * answer must be a 4xx in the protocol's error shape, and the server must keep serving.
 */
import { connect } from 'node:net'
import { once } from 'node:events'
import { getGlobalDispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { instanceBody } from './helpers.js'

interface Endpoint {
  readonly method: 'GET' | 'PUT' | 'DELETE' | 'POST'
  /** `{s}` service, `{i}` instance id, `{k}` config key. */
  readonly template: string
  readonly valid?: unknown
}

const metricBatch = { batchId: 'b-1', service: 'svc', instance: 'inst', timestamp: 1, points: [] }
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', template: '/v1/health' },
  { method: 'GET', template: '/v1/services' },
  { method: 'GET', template: '/v1/services/{s}' },
  { method: 'PUT', template: '/v1/services/{s}/instances/{i}', valid: instanceBody() },
  { method: 'DELETE', template: '/v1/services/{s}/instances/{i}' },
  { method: 'PUT', template: '/v1/services/{s}/instances/{i}/heartbeat', valid: {} },
  { method: 'GET', template: '/v1/config' },
  { method: 'GET', template: '/v1/config/{k}' },
  { method: 'PUT', template: '/v1/config/{k}', valid: { value: 1 } },
  { method: 'DELETE', template: '/v1/config/{k}' },
  { method: 'POST', template: '/v1/metrics', valid: metricBatch },
  { method: 'GET', template: '/v1/metrics/{s}' },
]
const withBody = ENDPOINTS.filter((e) => e.valid !== undefined)
const named = ENDPOINTS.filter((e) => e.template.includes('{'))

const fill = (template: string, names: Partial<Record<'s' | 'i' | 'k', string>> = {}): string =>
  template.replace('{s}', names.s ?? 'svc').replace('{i}', names.i ?? 'inst').replace('{k}', names.k ?? 'key')

const MALFORMED_JSON: readonly (string | Buffer)[] = [
  '{',
  '{"a":',
  'nul',
  'undefined',
  "{'a':1}",
  '{"a":1}}',
  '{"a":1,}',
  '\u0000',
  'NaN',
  '[' + '['.repeat(100_000),
  '"unterminated',
  Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
  Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
  ' ',
]
const WRONG_TYPES: readonly unknown[] = [1, 'text', true, null, [], [1, 2], { a: { b: [] } }]
const FIELD_TYPES: Readonly<Record<string, readonly unknown[]>> = {
  '/v1/services/{s}/instances/{i}': [
    { ...instanceBody(), port: '80' },
    { ...instanceBody(), address: 5 },
    { ...instanceBody(), ttlMs: '1000' },
    { ...instanceBody(), ttlMs: 1e400 },
    { ...instanceBody(), metadata: 'x' },
    { ...instanceBody(), metadata: { a: null } },
    { ...instanceBody(), tags: 'x' },
    { ...instanceBody(), tags: [1] },
    { ...instanceBody(), zone: 5 },
    { ...instanceBody(), weight: '1' },
    { ...instanceBody(), status: 1 },
  ],
  '/v1/config/{k}': [{ value: 1, ifVersion: 1 }, { value: 1, ifVersion: {} }, { value: 1, ifVersion: '1e3' }, { ifVersion: '0' }],
  '/v1/metrics': [
    { ...metricBatch, batchId: 5 },
    { ...metricBatch, timestamp: null },
    { ...metricBatch, points: [1] },
    { ...metricBatch, points: [{ name: 1 }] },
    { ...metricBatch, points: [{ name: 'a', kind: 'gauge', labels: [], value: 1 }] },
    { ...metricBatch, points: [{ name: 'a', kind: 'histogram', labels: {}, buckets: {}, counts: 'x', sum: 0, count: 0 }] },
    { ...metricBatch, points: [{ name: 'a', kind: 'counter', labels: {}, value: '1' }] },
    { ...metricBatch, service: ['svc'] },
  ],
}
const ODD_NAMES: readonly string[] = [
  '',
  'x'.repeat(5_000),
  '..',
  '%2e%2e',
  '%2E%2E%2F',
  '%00',
  'a%00b',
  encodeURIComponent('ü'),
  encodeURIComponent('名前'),
  encodeURIComponent('😀'),
  '%',
  '%ZZ',
  'a%2Fb',
  '%20',
  '-a',
  '.a',
  'a%0Ab',
]
const CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/jsonx', 'multipart/form-data']

let server: GovernanceServer
const statuses: number[] = []

interface Sent {
  readonly status: number
  readonly body: string
  readonly contentType: string | undefined
}

async function send(method: string, path: string, body?: string | Buffer | AsyncIterable<Buffer>, contentType = 'application/json'): Promise<Sent> {
  // Raw path: request(url) would normalise `..` and `%2e%2e` before sending.
  const res = await getGlobalDispatcher().request({
    origin: server.url,
    path,
    method: method as 'PUT',
    headers: body === undefined ? {} : { 'content-type': contentType },
    ...(body === undefined ? {} : { body: body as string }),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.body.text()
  statuses.push(res.statusCode)
  return { status: res.statusCode, body: text, contentType: res.headers['content-type'] as string | undefined }
}

function expectClientError(sent: Sent, what: string): void {
  expect(sent.status, `${what}: ${sent.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
  expect(sent.status, what).toBeLessThan(500)
  expect(sent.contentType, what).toMatch(/^application\/json/)
  const parsed = JSON.parse(sent.body) as { error?: { code?: unknown; message?: unknown } }
  expect(typeof parsed.error?.code, what).toBe('string')
  expect(typeof parsed.error?.message, what).toBe('string')
}

beforeAll(async () => {
  server = await createGovernanceServer({ port: 0 })
})
afterAll(async () => {
  await server.close()
})

describe('malformed input', () => {
  it('answers malformed JSON with 4xx on every endpoint', async () => {
    for (const e of ENDPOINTS) {
      for (const body of MALFORMED_JSON) {
        const what = `${e.method} ${e.template} ${JSON.stringify(body.toString()).slice(0, 30)}`
        expectClientError(await send(e.method, fill(e.template), body), what)
      }
    }
  })

  it('answers wrongly typed bodies with 4xx on every endpoint, while the valid body works', async () => {
    await send('PUT', fill('/v1/services/{s}/instances/{i}'), JSON.stringify(instanceBody({ ttlMs: 600_000 })))
    for (const e of ENDPOINTS) {
      for (const body of [...WRONG_TYPES, ...(FIELD_TYPES[e.template] ?? [])]) {
        if (e.template.endsWith('heartbeat') && typeof body === 'object' && body !== null && !Array.isArray(body)) continue // any object is a valid heartbeat body
        expectClientError(await send(e.method, fill(e.template), JSON.stringify(body)), `${e.method} ${e.template} ${JSON.stringify(body).slice(0, 60)}`)
      }
      if (e.valid !== undefined) {
        const ok = await send(e.method, fill(e.template), JSON.stringify(e.valid))
        expect(ok.status, `${e.method} ${e.template} valid`).toBeLessThan(300)
      }
    }
  })

  it('answers other content types with 415 on every endpoint that takes a body', async () => {
    for (const e of withBody) {
      for (const type of CONTENT_TYPES) {
        const sent = await send(e.method, fill(e.template), JSON.stringify(e.valid), type)
        expectClientError(sent, `${e.method} ${e.template} ${type}`)
        expect(sent.status).toBe(415)
      }
    }
  })

  it('answers oversized bodies with 413 on every endpoint, by Content-Length and chunked', async () => {
    const big = Buffer.alloc(1_048_577, 0x20)
    async function* chunked(): AsyncIterable<Buffer> {
      for (let sent = 0; sent < 1_200_000; sent += 65_536) yield Buffer.alloc(65_536, 0x20)
    }
    for (const e of ENDPOINTS) {
      const byLength = await send(e.method, fill(e.template), big)
      expectClientError(byLength, `${e.method} ${e.template} content-length`)
      expect(byLength.status).toBe(413)
      const byChunks = await send(e.method, fill(e.template), chunked())
      expectClientError(byChunks, `${e.method} ${e.template} chunked`)
      expect(byChunks.status).toBe(413)
    }
  })

  it('answers odd names with 4xx in every name position', async () => {
    for (const e of named) {
      for (const slot of ['s', 'i', 'k'] as const) {
        if (!e.template.includes(`{${slot}}`)) continue
        for (const name of ODD_NAMES) {
          const sent = await send(e.method, fill(e.template, { [slot]: name }), e.valid === undefined ? undefined : JSON.stringify(e.valid))
          expectClientError(sent, `${e.method} ${e.template} ${slot}=${name.slice(0, 20)}`)
        }
      }
    }
    // Nothing with an odd name was stored.
    const services = JSON.parse((await send('GET', '/v1/services')).body) as { services: { name: string }[] }
    expect(services.services.map((s) => s.name)).toEqual(['svc'])
  })

  it('answers broken HTTP in the error shape too', async () => {
    for (const raw of ['GARBAGE\r\n\r\n', 'GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', `GET /v1/health HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`]) {
      const socket = connect(server.port, '127.0.0.1')
      await once(socket, 'connect')
      socket.end(raw)
      let text = ''
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      await once(socket, 'close')
      expect(text).toMatch(/^HTTP\/1\.1 4\d\d /)
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }
      expect(body.error.code).toBe('bad_request')
    }
  })

  it('never answered 5xx and still serves', async () => {
    expect(statuses.length).toBeGreaterThan(500)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect((await send('GET', '/v1/health')).status).toBe(200)
    const reg = await send('PUT', '/v1/services/after/instances/1', JSON.stringify(instanceBody()))
    expect(reg.status).toBe(200)
    const list = JSON.parse((await send('GET', '/v1/services/after')).body) as { instances: unknown[] }
    expect(list.instances).toHaveLength(1)
  })
})
