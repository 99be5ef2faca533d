/** Protocol section 5: register, heartbeat, deregister, list, list names, expiry. */
import type { ConformanceCheck } from './check.js'
import { expectEqual, expectError, expectIndexed, expectJson, expectStatus, expectTrue, fail } from './expect.js'
import { probe, uniqueName, type ConformanceContext } from './http.js'

export const instanceBody = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  address: '10.0.0.5',
  port: 8080,
  ttlMs: 60_000,
  ...extra,
})

export async function register(ctx: ConformanceContext, service: string, id: string, extra: Record<string, unknown> = {}) {
  const reply = await probe(ctx, 'PUT', `/v1/services/${service}/instances/${id}`, { body: instanceBody(extra) })
  const body = expectJson(reply, 200)
  return { reply, body, index: expectIndexed(reply, body), instance: body['instance'] as Record<string, unknown> }
}

export async function list(ctx: ConformanceContext, service: string, query = '') {
  const reply = await probe(ctx, 'GET', `/v1/services/${service}${query}`, { timeoutMs: 400_000 })
  const body = expectJson(reply, 200)
  const instances = body['instances']
  if (!Array.isArray(instances)) fail(`GET /v1/services/${service}: instances is not an array`)
  return { reply, body, index: expectIndexed(reply, body), instances: instances as Record<string, unknown>[] }
}

const ids = (instances: readonly Record<string, unknown>[]): unknown[] => instances.map((i) => i['id'])

export const registryChecks: readonly ConformanceCheck[] = [
  {
    name: 'registry: register answers the instance, the applied ttlMs and the index',
    async run(ctx) {
      const service = uniqueName('svc')
      const before = Date.now() - 60_000
      const { body, instance } = await register(ctx, service, 'i-1', { metadata: { version: '1.4.2' }, tags: ['http'], zone: 'eu-1a', weight: 3, status: 'STARTING' })
      const expected = { id: 'i-1', service, address: '10.0.0.5', port: 8080, status: 'STARTING', metadata: { version: '1.4.2' }, tags: ['http'], zone: 'eu-1a', weight: 3, ttlMs: 60_000 }
      for (const [field, value] of Object.entries(expected)) expectEqual(instance[field], value, `instance.${field}`)
      expectEqual(body['ttlMs'], 60_000, 'ttlMs')
      for (const field of ['registeredAt', 'renewedAt']) {
        expectTrue(typeof instance[field] === 'number' && (instance[field] as number) > before, `instance.${field} must be epoch milliseconds, got ${String(instance[field])}`)
      }
    },
  },
  {
    name: 'registry: defaults are status UP, empty metadata and tags, weight 1, no zone',
    async run(ctx) {
      const { instance } = await register(ctx, uniqueName('svc'), 'i-1')
      expectEqual([instance['status'], instance['metadata'], instance['tags'], instance['weight']], ['UP', {}, [], 1], 'status, metadata, tags, weight')
      expectTrue(!('zone' in instance), 'zone must be omitted when not set')
    },
  },
  {
    name: 'registry: ttlMs is clamped to [1000, 600000]',
    async run(ctx) {
      const service = uniqueName('svc')
      const low = await register(ctx, service, 'low', { ttlMs: 10 })
      const high = await register(ctx, service, 'high', { ttlMs: 100_000_000 })
      expectEqual(low.body['ttlMs'], 1_000, 'ttlMs applied for 10')
      expectEqual(high.body['ttlMs'], 600_000, 'ttlMs applied for 100000000')
      await probe(ctx, 'DELETE', `/v1/services/${service}/instances/low`)
    },
  },
  {
    name: 'registry: upsert is idempotent; a changed field raises the index',
    async run(ctx) {
      const service = uniqueName('svc')
      const first = await register(ctx, service, 'i-1')
      const again = await register(ctx, service, 'i-1')
      expectEqual(again.index, first.index, 'index after an identical upsert')
      expectEqual(again.instance['registeredAt'], first.instance['registeredAt'], 'registeredAt after an identical upsert')
      const changed = await register(ctx, service, 'i-1', { status: 'DOWN' })
      expectTrue(changed.index > first.index, `index after a change must rise above ${first.index}, got ${changed.index}`)
      expectEqual((await list(ctx, service)).instances.length, 1, 'instances after three upserts of one id')
    },
  },
  {
    name: 'registry: invalid registrations answer 400 and store nothing',
    async run(ctx) {
      const service = uniqueName('svc')
      const bad = [
        { port: 8080, ttlMs: 60_000 },
        instanceBody({ address: 'has space' }),
        instanceBody({ port: 0 }),
        instanceBody({ port: '8080' }),
        instanceBody({ ttlMs: undefined }),
        instanceBody({ status: 'RUNNING' }),
        instanceBody({ weight: 1_001 }),
        instanceBody({ tags: [''] }),
        instanceBody({ metadata: { k: 1 } }),
        instanceBody({ metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }),
        [],
      ]
      for (const body of bad) expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/i-1`, { body }), 400, 'bad_request')
      expectEqual((await list(ctx, service)).instances, [], 'instances after invalid registrations')
    },
  },
  {
    name: 'registry: heartbeat renews (200 with ttlMs) and answers 404 for an unknown instance',
    async run(ctx) {
      const service = uniqueName('svc')
      await register(ctx, service, 'i-1', { ttlMs: 30_000 })
      expectEqual(expectJson(await probe(ctx, 'PUT', `/v1/services/${service}/instances/i-1/heartbeat`), 200)['ttlMs'], 30_000, 'heartbeat ttlMs')
      expectStatus(await probe(ctx, 'PUT', `/v1/services/${service}/instances/i-1/heartbeat`, { body: {} }), 200)
      expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/nope/heartbeat`), 404, 'not_found')
    },
  },
  {
    name: 'registry: deregister is idempotent and a heartbeat afterwards answers 404',
    async run(ctx) {
      const service = uniqueName('svc')
      const reg = await register(ctx, service, 'i-1')
      const first = await probe(ctx, 'DELETE', `/v1/services/${service}/instances/i-1`)
      const removed = expectJson(first, 200)
      expectEqual(removed['removed'], true, 'removed')
      expectTrue(expectIndexed(first, removed) > reg.index, 'deregistering must raise the index')
      const second = expectJson(await probe(ctx, 'DELETE', `/v1/services/${service}/instances/i-1`), 200)
      expectEqual(second['removed'], false, 'removed on a repeated deregister')
      expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/i-1/heartbeat`), 404, 'not_found')
      expectEqual((await list(ctx, service)).instances, [], 'instances after deregister')
    },
  },
  {
    name: 'registry: list answers every status sorted by id; an unknown service is 200, empty, index 1',
    async run(ctx) {
      const service = uniqueName('svc')
      for (const [id, status] of [['c', 'UP'], ['a', 'DOWN'], ['b', 'OUT_OF_SERVICE'], ['d', 'STARTING']]) await register(ctx, service, id!, { status })
      const { body, instances } = await list(ctx, service)
      expectEqual(body['service'], service, 'service')
      expectEqual(ids(instances), ['a', 'b', 'c', 'd'], 'instance ids')
      const unknown = await list(ctx, uniqueName('never'))
      expectEqual([unknown.instances, unknown.index], [[], 1n], 'instances and index of a never-used service')
    },
  },
  {
    name: 'registry: GET /v1/services lists services with instances, sorted, with counts',
    async run(ctx) {
      const a = uniqueName('aa')
      const b = uniqueName('bb')
      const gone = uniqueName('cc')
      await register(ctx, b, '1')
      await register(ctx, a, '1')
      await register(ctx, a, '2')
      await register(ctx, gone, '1')
      await probe(ctx, 'DELETE', `/v1/services/${gone}/instances/1`)
      const reply = await probe(ctx, 'GET', '/v1/services')
      const body = expectJson(reply, 200)
      expectIndexed(reply, body)
      const services = body['services']
      if (!Array.isArray(services)) fail('services is not an array')
      const names = services.map((s: { name?: unknown }) => s.name)
      expectEqual([...names].sort(), names, 'service names must be sorted')
      // Only name and instances are required; a server MAY add members per service (section 5).
      const find = (name: string): unknown => {
        const entry = services.find((s: { name?: unknown }) => s.name === name) as { name?: unknown; instances?: unknown } | undefined
        return entry === undefined ? undefined : { name: entry.name, instances: entry.instances }
      }
      expectEqual(find(a), { name: a, instances: 2 }, `entry for ${a}`)
      expectEqual(find(b), { name: b, instances: 1 }, `entry for ${b}`)
      expectEqual(find(gone), undefined, 'a service without instances')
    },
  },
  {
    name: 'registry: an instance not renewed expires after its ttl (1000 ms) and its watchers wake',
    async run(ctx) {
      const service = uniqueName('svc')
      await register(ctx, service, 'keep')
      const short = await register(ctx, service, 'short', { ttlMs: 1_000 })
      const started = performance.now()
      let seen = short.index
      let instances: Record<string, unknown>[] = []
      do {
        ;({ index: seen, instances } = await list(ctx, service, `?index=${seen}&wait=10s`))
      } while (instances.length > 1 && performance.now() - started < 10_000)
      expectEqual(ids(instances), ['keep'], 'instances after the ttl')
      expectTrue(performance.now() - started < 4_000, `removal took ${Math.round(performance.now() - started)} ms; the deadline was 1000 ms`)
      expectError(await probe(ctx, 'PUT', `/v1/services/${service}/instances/short/heartbeat`), 404, 'not_found')
    },
  },
]
