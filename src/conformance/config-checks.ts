/** Protocol section 6: config read, write with compare-and-set, delete, list. */
import type { ConformanceCheck } from './check.js'
import { expectEqual, expectError, expectIndex, expectIndexed, expectJson, expectTrue, fail } from './expect.js'
import { probe, uniqueName, type ConformanceContext } from './http.js'

async function put(ctx: ConformanceContext, key: string, body: Record<string, unknown>) {
  const reply = await probe(ctx, 'PUT', `/v1/config/${key}`, { body })
  return { reply, body: expectJson(reply, 200) }
}

export const configChecks: readonly ConformanceCheck[] = [
  {
    name: 'config: put and get round-trip any JSON value (null included) with version == index',
    async run(ctx) {
      const key = uniqueName('key')
      for (const value of [{ a: [1, 'x', { b: null }] }, null, 0, 'text', false, [1, 2]]) {
        const written = await put(ctx, key, { value })
        const version = expectIndexed(written.reply, written.body)
        expectEqual(written.body, { key, value, version: version.toString(), index: version.toString() }, 'PUT answer')
        const read = await probe(ctx, 'GET', `/v1/config/${key}`)
        const body = expectJson(read, 200)
        expectIndexed(read, body)
        expectEqual(body, written.body, 'GET answer after PUT')
      }
    },
  },
  {
    name: 'config: every write raises the version',
    async run(ctx) {
      const key = uniqueName('key')
      let last = 0n
      for (let i = 0; i < 4; i++) {
        const version = expectIndex((await put(ctx, key, { value: i })).body['version'], 'version')
        expectTrue(version > last, `version ${version} is not above the previous ${last}`)
        last = version
      }
    },
  },
  {
    name: 'config: ifVersion equal to the stored version writes; a stale one answers 409 with currentVersion',
    async run(ctx) {
      const key = uniqueName('key')
      const v1 = (await put(ctx, key, { value: 1 })).body['version']
      const v2 = (await put(ctx, key, { value: 2, ifVersion: v1 })).body['version']
      const stale = expectError(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 3, ifVersion: v1 } }), 409, 'conflict')
      expectEqual(stale['currentVersion'], v2, 'error.currentVersion')
      expectEqual(expectJson(await probe(ctx, 'GET', `/v1/config/${key}`), 200)['value'], 2, 'value after the refused write')
    },
  },
  {
    name: 'config: ifVersion "0" only creates; a missing key conflicts with currentVersion "0"',
    async run(ctx) {
      const key = uniqueName('key')
      const created = (await put(ctx, key, { value: 1, ifVersion: '0' })).body
      const again = expectError(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 2, ifVersion: '0' } }), 409, 'conflict')
      expectEqual(again['currentVersion'], created['version'], 'currentVersion for "0" on an existing key')
      const missing = expectError(await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body: { value: 1, ifVersion: '7' } }), 409, 'conflict')
      expectEqual(missing['currentVersion'], '0', 'currentVersion of a missing key')
    },
  },
  {
    name: 'config: concurrent compare-and-set writers: exactly one wins',
    async run(ctx) {
      const key = uniqueName('key')
      const base = (await put(ctx, key, { value: 'base' })).body['version']
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: i, ifVersion: base } })))
      const statuses = answers.map((a) => a.status).sort()
      expectEqual(statuses, [200, ...Array.from({ length: 7 }, () => 409)], 'statuses of 8 racing CAS writes')
    },
  },
  {
    name: 'config: delete honours ifVersion, answers the deletion index, then 404 with that index',
    async run(ctx) {
      const key = uniqueName('key')
      const version = expectIndex((await put(ctx, key, { value: 1 })).body['version'], 'version')
      const wrong = expectError(await probe(ctx, 'DELETE', `/v1/config/${key}?ifVersion=${version + 1n}`), 409, 'conflict')
      expectEqual(wrong['currentVersion'], version.toString(), 'currentVersion on a refused delete')
      const del = await probe(ctx, 'DELETE', `/v1/config/${key}?ifVersion=${version}`)
      const body = expectJson(del, 200)
      expectEqual(body['deleted'], true, 'deleted')
      const index = expectIndexed(del, body)
      expectTrue(index > version, 'the deletion index must be above the deleted version')
      const get = await probe(ctx, 'GET', `/v1/config/${key}`)
      expectEqual(expectError(get, 404, 'not_found')['index'], index.toString(), 'error.index after the delete')
      expectEqual(get.headers['x-governance-index'], index.toString(), 'X-Governance-Index after the delete')
      expectError(await probe(ctx, 'DELETE', `/v1/config/${key}`), 404, 'not_found')
      const recreated = expectIndex((await put(ctx, key, { value: 2, ifVersion: '0' })).body['version'], 'version')
      expectTrue(recreated > index, 'a re-created key must get a version above its deletion index')
    },
  },
  {
    name: 'config: GET /v1/config lists keys sorted with their versions',
    async run(ctx) {
      const prefix = uniqueName('list')
      const b = (await put(ctx, `${prefix}-b`, { value: 1 })).body['version']
      const a = (await put(ctx, `${prefix}-a`, { value: 1 })).body['version']
      const reply = await probe(ctx, 'GET', '/v1/config')
      const body = expectJson(reply, 200)
      expectIndexed(reply, body)
      const keys = body['keys']
      if (!Array.isArray(keys)) fail('keys is not an array')
      const names = keys.map((k: { key?: unknown }) => k.key)
      expectEqual([...names].sort(), names, 'keys must be sorted')
      expectEqual(
        keys.filter((k: { key?: unknown }) => typeof k.key === 'string' && k.key.startsWith(prefix)),
        [
          { key: `${prefix}-a`, version: a },
          { key: `${prefix}-b`, version: b },
        ],
        'entries of the written keys',
      )
    },
  },
  {
    name: 'config: bad bodies, keys and ifVersions answer 400; a value over 512 KiB answers 413',
    async run(ctx) {
      const key = uniqueName('key')
      for (const body of [{}, { other: 1 }, [1], { value: 1, ifVersion: 5 }, { value: 1, ifVersion: 'x' }]) {
        expectError(await probe(ctx, 'PUT', `/v1/config/${key}`, { body }), 400, 'bad_request')
      }
      for (const bad of ['-x', 'a'.repeat(257), '%2e%2e']) expectError(await probe(ctx, 'PUT', `/v1/config/${bad}`, { body: { value: 1 } }), 400, 'bad_request')
      expectError(await probe(ctx, 'DELETE', `/v1/config/${key}?ifVersion=x`), 400, 'bad_request')
      expectError(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 'x'.repeat(600 * 1024) } }), 413, 'payload_too_large')
      expectError(await probe(ctx, 'GET', `/v1/config/${key}`), 404, 'not_found')
    },
  },
]
