/**
 * Protocol section 4.1: the multiplexed watch. Optional: against a server that does not
 * advertise `watch-mux` in `GET /v1/health`, every check here is skipped.
 */
import type { ConformanceCheck } from './check.js'
import { expectBetween, expectEqual, expectError, expectJson, expectTrue } from './expect.js'
import { delay, probe, uniqueName } from './http.js'
import { register } from './registry-checks.js'
import { openedWatch, requireWatchMux, type Frame } from './watch-stream.js'

const isService = (name: string) => (f: Frame) => f['type'] === 'service' && f['service'] === name
const isConfig = (key: string) => (f: Frame) => f['type'] === 'config' && f['key'] === key
const ids = (list: unknown): unknown[] => (Array.isArray(list) ? list.map((i) => (i as Record<string, unknown>)['id']) : [])

export const watchMuxChecks: readonly ConformanceCheck[] = [
  {
    name: 'watch-mux: the stream opens with an open frame, then the full state of every resource',
    async run(ctx) {
      await requireWatchMux(ctx)
      const [service, empty, key] = [uniqueName('svc'), uniqueName('svc'), uniqueName('key')]
      await register(ctx, service, 'a')
      await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: { on: true } } })
      const stream = await openedWatch(ctx, { resources: [{ service }, { service: empty, index: '0' }, { config: key }, { config: uniqueName('key') }] })
      try {
        const full = await stream.next(isService(service), `the state of ${service}`)
        expectEqual(full['full'], true, 'full of a first service frame')
        expectEqual(ids(full['instances']), ['a'], 'instances of the first frame')
        expectEqual((await stream.next(isService(empty), `the state of ${empty}`))['instances'], [], 'instances of an unknown service')
        const entry = (await stream.next(isConfig(key), `the state of ${key}`))['entry'] as Record<string, unknown>
        expectEqual(entry?.['value'], { on: true }, 'entry.value of the config frame')
        expectEqual((await stream.next((f) => f['type'] === 'config' && f['key'] !== key, 'the missing key'))['entry'], null, 'entry of a missing key')
      } finally {
        stream.close()
      }
    },
  },
  {
    name: 'watch-mux: a change is streamed as a diff, and only for its own resource',
    async run(ctx) {
      await requireWatchMux(ctx)
      const [service, quiet] = [uniqueName('svc'), uniqueName('svc')]
      await register(ctx, service, 'a')
      await register(ctx, service, 'b')
      const stream = await openedWatch(ctx, { resources: [{ service }, { service: quiet }], keepAliveMs: 60_000 })
      try {
        const full = await stream.next(isService(service), 'the first state')
        await stream.next(isService(quiet), 'the first state of the quiet service')
        await register(ctx, service, 'b', { port: 9999 })
        const diff = await stream.next(isService(service), 'a frame after the change')
        expectEqual(diff['full'], false, 'full of a frame after a change')
        expectEqual(diff['from'], full['index'], 'from of the diff')
        expectEqual(ids(diff['upsert']), ['b'], 'upsert of the diff')
        expectEqual(diff['remove'], [], 'remove of the diff')
        await probe(ctx, 'DELETE', `/v1/services/${service}/instances/a`)
        expectEqual((await stream.next(isService(service), 'a frame after the removal'))['remove'], ['a'], 'remove after a deregistration')
        expectTrue(!stream.pending().some(isService(quiet)), 'a change to another service sent a frame for the quiet one')
      } finally {
        stream.close()
      }
    },
  },
  {
    name: 'watch-mux: keep-alive frames come at the asked interval with the current index',
    async run(ctx) {
      await requireWatchMux(ctx)
      const stream = await openedWatch(ctx, { resources: [{ service: uniqueName('svc'), index: '1' }], keepAliveMs: 300 })
      try {
        const first = await stream.next((f) => f['type'] === 'keepalive', 'a keep-alive', 5_000)
        const started = performance.now()
        const { index } = await register(ctx, uniqueName('svc'), 'x')
        const second = await stream.next((f) => f['type'] === 'keepalive', 'a second keep-alive', 5_000)
        expectBetween(performance.now() - started, 0, 3_000, 'ms between keep-alives asked every 300 ms')
        expectTrue(BigInt(String(second['index'])) >= index, `a keep-alive after a change at ${index} carried index ${String(second['index'])}`)
        expectTrue(BigInt(String(second['index'])) >= BigInt(String(first['index'])), 'keep-alive indexes went backwards')
      } finally {
        stream.close()
      }
    },
  },
  {
    name: 'watch-mux: a stream resumed from held indexes sends only what changed past them',
    async run(ctx) {
      await requireWatchMux(ctx)
      const [same, changed, key] = [uniqueName('svc'), uniqueName('svc'), uniqueName('key')]
      const held = await register(ctx, same, 'a')
      const old = await register(ctx, changed, 'a')
      await register(ctx, changed, 'b')
      const keyIndex = expectJson(await probe(ctx, 'PUT', `/v1/config/${key}`, { body: { value: 1 } }), 200)['index']
      const resources = [{ service: same, index: held.index.toString() }, { service: changed, index: old.index.toString() }, { config: key, index: keyIndex }]
      const stream = await openedWatch(ctx, { resources, keepAliveMs: 300 })
      try {
        expectEqual(ids((await stream.next(isService(changed), `the newer state of ${changed}`))['instances']), ['a', 'b'], 'instances on resume')
        await stream.next((f) => f['type'] === 'keepalive', 'a keep-alive', 5_000)
        await delay(100)
        const extra = stream.pending().filter((f) => isService(same)(f) || isConfig(key)(f))
        expectEqual(extra, [], 'frames for resources already at their index')
      } finally {
        stream.close()
      }
    },
  },
  {
    name: 'watch-mux: more resources than maxResources get 400 too_many_resources; a bad body 400',
    async run(ctx) {
      const { maxResources } = await requireWatchMux(ctx)
      const resources = Array.from({ length: maxResources + 1 }, (_, i) => ({ service: `s${i}` }))
      const error = expectError(await probe(ctx, 'POST', '/v1/watch', { body: { resources } }), 400, 'too_many_resources')
      expectEqual(error['limit'], String(maxResources), 'error.limit')
      for (const body of [{}, { resources: [{ service: 'a', config: 'b' }] }, { resources: [{ service: 'a' }, { service: 'a' }] }, { resources: [{ service: '../x' }] }]) {
        expectError(await probe(ctx, 'POST', '/v1/watch', { body }), 400, 'bad_request')
      }
    },
  },
]
