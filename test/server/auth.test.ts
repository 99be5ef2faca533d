import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { call, errorCode, instanceBody, startServer } from './helpers.js'

const WRITE = 'w-secret-1'
const READ = 'r-secret-1'

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate for a missing, foreign-scheme or unknown token', async () => {
    const s = await startServer({ token: WRITE, readToken: READ })
    for (const headers of [{} as Record<string, string>, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, { authorization: 'Bearer nope' }, { authorization: 'Bearer' }, { authorization: `Bearer ${WRITE}x` }]) {
      for (const [method, path] of [['GET', '/v1/services'], ['GET', '/v1/config/k'], ['PUT', '/v1/config/k'], ['GET', '/v1/unknown'], ['POST', '/v1/services']]) {
        const r = await call(s.url, method!, path!, { headers, ...(method === 'PUT' ? { body: { value: 1 } } : {}) })
        expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401)
        expect(errorCode(r)).toBe('unauthorized')
        expect(r.headers['www-authenticate']).toBe('Bearer')
      }
    }
  })

  it('lets a read token GET and answers 403 to its writes', async () => {
    const s = await startServer({ token: WRITE, readToken: READ })
    expect((await call(s.url, 'GET', '/v1/services/a', { token: READ })).status).toBe(200)
    expect((await call(s.url, 'GET', '/v1/config', { token: READ })).status).toBe(200)
    for (const [method, path, body] of [
      ['PUT', '/v1/services/a/instances/1', instanceBody()],
      ['PUT', '/v1/services/a/instances/1/heartbeat', undefined],
      ['DELETE', '/v1/services/a/instances/1', undefined],
      ['PUT', '/v1/config/k', { value: 1 }],
      ['DELETE', '/v1/config/k', undefined],
      ['POST', '/v1/metrics', { batchId: 'b', service: 's', instance: 'i', timestamp: 1, points: [] }],
    ] as const) {
      const r = await call(s.url, method, path, { token: READ, ...(body === undefined ? {} : { body }) })
      expect(r.status, `${method} ${path}`).toBe(403)
      expect(errorCode(r)).toBe('forbidden')
    }
    expect((await call(s.url, 'GET', '/v1/services/a', { token: READ })).json.instances).toEqual([])
  })

  it('lets a write token do everything, with a case-insensitive scheme', async () => {
    const s = await startServer({ token: WRITE, readToken: READ })
    expect((await call(s.url, 'PUT', '/v1/services/a/instances/1', { token: WRITE, body: instanceBody() })).status).toBe(200)
    expect((await call(s.url, 'GET', '/v1/services/a', { headers: { authorization: `bearer ${WRITE}` } })).json.instances).toHaveLength(1)
    expect((await call(s.url, 'PUT', '/v1/config/k', { token: WRITE, body: { value: 1 } })).status).toBe(200)
  })

  it('accepts every token of the tokens lists (rotation)', async () => {
    const s = await startServer({ tokens: { write: ['w1', 'w2'], read: ['r1', 'r2'] } })
    for (const t of ['w1', 'w2']) expect((await call(s.url, 'PUT', '/v1/config/k', { token: t, body: { value: t } })).status).toBe(200)
    for (const t of ['r1', 'r2']) {
      expect((await call(s.url, 'GET', '/v1/config/k', { token: t })).status).toBe(200)
      expect((await call(s.url, 'PUT', '/v1/config/k', { token: t, body: { value: 1 } })).status).toBe(403)
    }
  })

  it('serves health without a token; /metrics and /otlp need one; unknown paths outside /v1 are 404', async () => {
    const s = await startServer({ token: WRITE })
    expect((await call(s.url, 'GET', '/v1/health')).status).toBe(200)
    expect((await call(s.url, 'POST', '/v1/health')).status).toBe(405)
    expect((await call(s.url, 'GET', '/metrics')).status).toBe(401)
    expect((await call(s.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${WRITE}` } })).status).toBe(200)
    expect((await call(s.url, 'POST', '/otlp/v1/metrics', { body: {} })).status).toBe(401)
    expect((await call(s.url, 'GET', '/nothing')).status).toBe(404)
  })

  it('needs no token when none is configured', async () => {
    const s = await startServer()
    expect((await call(s.url, 'PUT', '/v1/config/k', { body: { value: 1 }, headers: { authorization: 'Bearer anything' } })).status).toBe(200)
  })

  it('refuses unusable token options eagerly', async () => {
    for (const options of [{ token: '' }, { token: 'has space' }, { readToken: 'r' }, { tokens: { write: [1] } }, { tokens: 'x' }]) {
      await expect(createGovernanceServer(options as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    }
  })
})
