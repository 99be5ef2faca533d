/** Protocol section 4: indexes and blocking queries. */
import type { ConformanceCheck } from './check.js'
import { expectBetween, expectEqual, expectError, expectIndexed, expectJson, expectTrue, fail } from './expect.js'
import { delay, probe, uniqueName } from './http.js'
import { list, register } from './registry-checks.js'

/** How long a check lets a held query sit before making the change that should wake it. */
const HOLD_MS = 400

export const blockingChecks: readonly ConformanceCheck[] = [
  {
    name: 'blocking: a list at the current index is held until the service changes',
    async run(ctx) {
      const service = uniqueName('svc')
      const first = await register(ctx, service, 'a')
      const held = list(ctx, service, `?index=${first.index}&wait=30s`)
      await delay(HOLD_MS)
      const second = await register(ctx, service, 'b')
      const answer = await held
      expectEqual(answer.index, second.index, 'index of the woken answer')
      expectEqual(answer.instances.map((i) => i['id']), ['a', 'b'], 'instances of the woken answer')
      expectBetween(answer.reply.ms, HOLD_MS * 0.9, 25_000, 'ms the query was held')
    },
  },
  {
    name: 'blocking: a held query answers the unchanged state with the same index when wait elapses',
    async run(ctx) {
      const service = uniqueName('svc')
      const first = await register(ctx, service, 'a')
      const answer = await list(ctx, service, `?index=${first.index}&wait=1s`)
      expectEqual(answer.index, first.index, 'index after the wait')
      expectEqual(answer.instances.length, 1, 'instances after the wait')
      // wait plus up to wait/16 jitter, plus slack for a busy machine.
      expectBetween(answer.reply.ms, 950, 6_000, 'ms held for wait=1s')
    },
  },
  {
    name: 'blocking: index 0, a lower index and a higher index are answered at once',
    async run(ctx) {
      const service = uniqueName('svc')
      await register(ctx, service, 'a')
      const { index } = await register(ctx, service, 'b')
      for (const asked of [0n, index - 1n, index + 1_000_000n]) {
        const answer = await list(ctx, service, `?index=${asked}&wait=20s`)
        expectEqual(answer.index, index, `index answered for index=${asked}`)
        expectTrue(answer.reply.ms < 5_000, `index=${asked} (resource at ${index}) was held ${Math.round(answer.reply.ms)} ms; it must be answered at once`)
      }
    },
  },
  {
    name: 'blocking: a change to another service or to config does not wake a held list',
    async run(ctx) {
      const service = uniqueName('svc')
      const other = uniqueName('svc')
      const first = await register(ctx, service, 'a')
      const held = list(ctx, service, `?index=${first.index}&wait=30s`)
      await delay(HOLD_MS / 2)
      await register(ctx, other, 'x')
      await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body: { value: 1 } })
      await delay(HOLD_MS / 2)
      const change = await probe(ctx, 'DELETE', `/v1/services/${service}/instances/a`)
      const changeIndex = expectIndexed(change, expectJson(change, 200))
      const answer = await held
      if (answer.index !== changeIndex) {
        fail(`the held list answered with index ${answer.index} (instances ${answer.instances.length}) instead of waiting for its own change at ${changeIndex}`)
      }
      expectEqual(answer.instances, [], 'instances after the change')
    },
  },
  {
    name: 'blocking: a missing config key answers 404 with its index, and holding on it wakes when it is written',
    async run(ctx) {
      const key = uniqueName('key')
      const missing = await probe(ctx, 'GET', `/v1/config/${key}`)
      const error = expectError(missing, 404, 'not_found')
      expectEqual(error['index'], '1', 'error.index of a never-written key')
      expectEqual(missing.headers['x-governance-index'], '1', 'X-Governance-Index of a never-written key')
      const held = probe(ctx, 'GET', `/v1/config/${key}?index=1&wait=30s`)
      await delay(HOLD_MS)
      const put = expectJson(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 'here' } }), 200)
      const answer = await held
      const body = expectJson(answer, 200)
      expectEqual(body, { key, value: 'here', version: put['version'], index: put['version'] }, 'the woken answer')
      expectBetween(answer.ms, HOLD_MS * 0.9, 25_000, 'ms the config read was held')
    },
  },
  {
    name: 'blocking: a held config read wakes on delete and sees 404',
    async run(ctx) {
      const key = uniqueName('key')
      const put = expectJson(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 1 } }), 200)
      const held = probe(ctx, 'GET', `/v1/config/${key}?index=${String(put['version'])}&wait=30s`)
      await delay(HOLD_MS)
      const del = await probe(ctx, 'DELETE', `/v1/config/${key}`)
      const deleted = expectIndexed(del, expectJson(del, 200))
      const answer = await held
      expectEqual(expectError(answer, 404, 'not_found')['index'], deleted.toString(), 'error.index after the delete')
      expectEqual(answer.headers['x-governance-index'], deleted.toString(), 'X-Governance-Index after the delete')
    },
  },
  {
    name: 'blocking: bad index or wait parameters answer 400',
    async run(ctx) {
      const service = uniqueName('svc')
      for (const query of ['index=abc', 'index=-1', 'index=1.5', 'wait=10', 'wait=soon', 'wait=-1s']) {
        expectError(await probe(ctx, 'GET', `/v1/services/${service}?${query}`), 400, 'bad_request')
        expectError(await probe(ctx, 'GET', `/v1/config/${service}?${query}`), 400, 'bad_request')
      }
    },
  },
  {
    name: 'indexes: every change gets a higher index, across services and config; health reports one at least as high',
    async run(ctx) {
      const a = uniqueName('svc')
      const b = uniqueName('svc')
      const seen: bigint[] = []
      seen.push((await register(ctx, a, '1')).index)
      seen.push((await register(ctx, b, '1')).index)
      const put = await probe(ctx, 'PUT', `/v1/config/${uniqueName('key')}`, { body: { value: 1 } })
      seen.push(expectIndexed(put, expectJson(put, 200)))
      seen.push((await register(ctx, a, '2')).index)
      const del = await probe(ctx, 'DELETE', `/v1/services/${b}/instances/1`)
      seen.push(expectIndexed(del, expectJson(del, 200)))
      for (let i = 1; i < seen.length; i++) {
        expectTrue(seen[i]! > seen[i - 1]!, `indexes must increase with every change: ${seen.join(', ')}`)
      }
      const health = await probe(ctx, 'GET', '/v1/health')
      expectTrue(expectIndexed(health, expectJson(health, 200)) >= seen.at(-1)!, 'health index is below the latest change')
    },
  },
]
