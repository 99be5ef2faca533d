/** Protocol sections 1-3 and 8: transport, error shape, statuses, names, health. */
import type { ConformanceCheck } from './check.js'
import { expectEqual, expectError, expectIndexed, expectJson, expectTrue } from './expect.js'
import { probe, uniqueName } from './http.js'
import { instanceBody } from './registry-checks.js'

const ONE_MIB = 1_048_576

export const httpChecks: readonly ConformanceCheck[] = [
  {
    name: 'health: GET /v1/health answers 200 {status: "ok", index}',
    async run(ctx) {
      const reply = await probe(ctx, 'GET', '/v1/health', { token: null })
      const body = expectJson(reply, 200)
      expectEqual(body['status'], 'ok', 'status')
      expectIndexed(reply, body)
    },
  },
  {
    name: 'errors: unknown paths answer 404 not_found in the error shape',
    async run(ctx) {
      for (const path of ['/v1/nothing', '/v1/services/a/b', '/v1/config/a/b', '/v2/services', '/']) expectError(await probe(ctx, 'GET', path), 404, 'not_found')
    },
  },
  {
    name: 'errors: a known path with the wrong method answers 405 with Allow',
    async run(ctx) {
      const cases: [string, string, string[]][] = [
        ['POST', '/v1/services/a', ['GET']],
        ['PATCH', '/v1/config/a', ['GET', 'PUT', 'DELETE']],
        ['GET', '/v1/metrics', ['POST']],
        ['POST', '/v1/services/a/instances/b', ['PUT', 'DELETE']],
        ['DELETE', '/v1/health', ['GET']],
      ]
      for (const [method, path, expected] of cases) {
        const reply = await probe(ctx, method, path)
        expectError(reply, 405, 'method_not_allowed')
        const allow = String(reply.headers['allow'] ?? '')
          .split(',')
          .map((m) => m.trim())
        for (const m of expected) expectTrue(allow.includes(m), `${method} ${path}: Allow is "${allow.join(', ')}", missing ${m}`)
      }
    },
  },
  {
    name: 'errors: a body that is not JSON answers 400 bad_request',
    async run(ctx) {
      const service = uniqueName('svc')
      for (const body of ['{', '{"address":', 'not json', '{"a":1}}']) {
        expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/a`, { body }), 400, 'bad_request')
        expectError(await probe(ctx, 'PUT', `/v1/config/${service}`, { body }), 400, 'bad_request')
        expectError(await probe(ctx, 'POST', '/v1/metrics', { body }), 400, 'bad_request')
      }
    },
  },
  {
    name: 'errors: a body over 1 MiB answers 413, announced by Content-Length',
    async run(ctx) {
      const body = Buffer.alloc(ONE_MIB + 1, 0x20)
      expectError(await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body }), 413, 'payload_too_large')
      expectError(await probe(ctx, 'POST', '/v1/metrics', { body }), 413, 'payload_too_large')
    },
  },
  {
    name: 'errors: a chunked body over 1 MiB answers 413',
    async run(ctx) {
      async function* chunks(): AsyncIterable<Buffer> {
        for (let sent = 0; sent <= ONE_MIB + 65_536; sent += 65_536) yield Buffer.alloc(65_536, 0x20)
      }
      expectError(await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body: chunks() }), 413, 'payload_too_large')
    },
  },
  {
    name: 'errors: a body of another content type answers 415',
    async run(ctx) {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        expectError(await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body: '{"value":1}', contentType }), 415, 'unsupported_media_type')
        expectError(await probe(ctx, 'PUT', `/v1/services/${uniqueName('svc')}/instances/a`, { body: JSON.stringify(instanceBody()), contentType }), 415, 'unsupported_media_type')
      }
    },
  },
  {
    name: 'names: names breaking section 3 answer 400; the longest valid names are accepted',
    async run(ctx) {
      const body = { body: instanceBody() }
      for (const service of ['-svc', '.svc', 's'.repeat(129), 'sv%20c', '%C3%BC', '%2e%2e']) {
        expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/a`, body), 400, 'bad_request')
        expectError(await probe(ctx, 'GET', `/v1/services/${service}`), 400, 'bad_request')
      }
      for (const id of ['_a', 'i'.repeat(129), 'a%00b']) expectError(await probe(ctx, 'PUT', `/v1/services/svc/instances/${id}`, body), 400, 'bad_request')
      const service = uniqueName('s').padEnd(128, 's')
      const id = `a.b:c-d_${'i'.repeat(120)}`
      expectJson(await probe(ctx, 'PUT', `/v1/services/${service}/instances/${id}`, body), 200)
      expectJson(await probe(ctx, 'DELETE', `/v1/services/${service}/instances/${id}`), 200)
    },
  },
]
