/** Protocol section 9: bearer tokens with read and write rights. Run only when tokens are given. */
import type { ConformanceCheck } from './check.js'
import { expectError, expectJson } from './expect.js'
import { probe, uniqueName } from './http.js'
import { instanceBody } from './registry-checks.js'

export const authChecks: readonly ConformanceCheck[] = [
  {
    name: 'auth: no token, another scheme or an unknown token answers 401 with WWW-Authenticate: Bearer',
    requires: ['token'],
    async run(ctx) {
      const attempts: { token?: null; headers?: Record<string, string> }[] = [
        { token: null },
        { token: null, headers: { authorization: `Basic ${Buffer.from(`u:${ctx.token}`).toString('base64')}` } },
        { token: null, headers: { authorization: `Bearer ${ctx.token}-not` } },
      ]
      for (const attempt of attempts) {
        for (const [method, path] of [['GET', '/v1/services'], ['GET', `/v1/config/${uniqueName('k')}`], ['PUT', `/v1/config/${uniqueName('k')}`]] as const) {
          const reply = await probe(ctx, method, path, { ...attempt, ...(method === 'PUT' ? { body: { value: 1 } } : {}) })
          expectError(reply, 401, 'unauthorized')
          if (!/^bearer/i.test(String(reply.headers['www-authenticate'] ?? ''))) throw new Error(`${method} ${path}: 401 without WWW-Authenticate: Bearer`)
        }
      }
    },
  },
  {
    name: 'auth: health needs no token',
    requires: ['token'],
    async run(ctx) {
      expectJson(await probe(ctx, 'GET', '/v1/health', { token: null }), 200)
    },
  },
  {
    name: 'auth: the write token may write and read',
    requires: ['token'],
    async run(ctx) {
      const key = uniqueName('key')
      expectJson(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 1 } }), 200)
      expectJson(await probe(ctx, 'GET', `/v1/config/${key}`), 200)
      expectJson(await probe(ctx, 'DELETE', `/v1/config/${key}`), 200)
    },
  },
  {
    name: 'auth: a read token may GET; its writes answer 403 forbidden',
    requires: ['token', 'readToken'],
    async run(ctx) {
      const read = { token: ctx.readToken! }
      const service = uniqueName('svc')
      const key = uniqueName('key')
      expectJson(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 1 } }), 200)
      expectJson(await probe(ctx, 'GET', `/v1/config/${key}`, read), 200)
      expectJson(await probe(ctx, 'GET', `/v1/services/${service}`, read), 200)
      expectJson(await probe(ctx, 'GET', '/v1/services', read), 200)
      const writes: [string, string, unknown][] = [
        ['PUT', `/v1/services/${service}/instances/a`, instanceBody()],
        ['PUT', `/v1/services/${service}/instances/a/heartbeat`, undefined],
        ['DELETE', `/v1/services/${service}/instances/a`, undefined],
        ['PUT', `/v1/config/${key}`, { value: 2 }],
        ['DELETE', `/v1/config/${key}`, undefined],
        ['POST', '/v1/metrics', { batchId: uniqueName('b'), service, instance: 'a', timestamp: Date.now(), points: [] }],
      ]
      for (const [method, path, body] of writes) expectError(await probe(ctx, method, path, { ...read, ...(body === undefined ? {} : { body }) }), 403, 'forbidden')
      expectJson(await probe(ctx, 'GET', `/v1/config/${key}`, read), 200)
    },
  },
]
