/**
 * The seed backend's own behaviour beyond the shared suite: the exact wire format the
 * Flask centers see, their error pages, foreign records, the config ambiguity, the
 * monitor record, polling that notifies only on change, and the once-only notices.
 * Also checks that the msw fake answers like the Flask code it imitates.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { seedBackend } from '../../src/backends/seed/index.js'
import { bucketQuantile, monitorRecord } from '../../src/backends/seed/metrics.js'
import { GovernanceClient } from '../../src/client.js'
import { InvalidArgumentError, NotSupportedError, ProtocolError, RequestRejectedError, ServerError } from '../../src/errors.js'
import { silentLogger, type Logger } from '../../src/internal/logger.js'
import type { ConfigEntry, MetricBatch, ServiceSnapshot } from '../../src/types.js'
import { createSeedCenters, interceptNetwork, SEED_URLS } from '../helpers/seed-centers.js'
import { spec } from './behaviour.js'
import { clientWatches } from './client-watch.js'
import { WatchRecorder } from './watch-recorder.js'

const centers = createSeedCenters()
let network: { close(): Promise<void> }
beforeAll(() => {
  network = interceptNetwork(centers.handlers)
})
afterAll(async () => {
  await network.close()
})
beforeEach(() => centers.reset())

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  return { ...silentLogger, warnings, warn: (m: string) => void warnings.push(m) }
}

const backend = (logger: Logger = silentLogger) => seedBackend({ ...SEED_URLS, pollIntervalMs: 50, logger })

describe('the msw fake answers like the seed\'s Flask centers', () => {
  it('jsonify: compact, sorted keys, escaped non-ASCII, trailing newline', async () => {
    await fetch(`${SEED_URLS.registry}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"port": 1, "name": "é", "address": "h"}' })
    const res = await fetch(`${SEED_URLS.registry}/query?name=%C3%A9`)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await res.text()).toBe('{"address":"h","name":"\\u00e9","port":1}\n')
    expect(await (await fetch(`${SEED_URLS.registry}/query`)).text()).toBe('{"success":false}\n')
  })

  it('400 HTML for a body that is not JSON or not sent as JSON; 500 when a needed key is missing', async () => {
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${SEED_URLS.config}${path}`, { method: 'POST', headers: { 'content-type': type }, body })
    const notJson = await post('/update', '{oops')
    expect(notJson.status).toBe(400)
    expect(notJson.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await notJson.text()).toContain('<title>400 Bad Request</title>')
    expect((await post('/update', '{"name":"a","config_info":1}', 'text/plain')).status).toBe(400)
    expect((await post('/update', '{"name":"a"}')).status).toBe(500)
    expect((await post('/update', '[1]')).status).toBe(500)
    expect((await post('/update', '{"name":"a","config_info":null}')).status).toBe(200)
    expect(await (await fetch(`${SEED_URLS.config}/query?name=a`)).text()).toBe('null\n')
  })

  it('405 with Allow for a wrong method, 404 for an unknown path', async () => {
    const wrong = await fetch(`${SEED_URLS.monitor}/register`)
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toContain('POST')
    expect((await fetch(`${SEED_URLS.monitor}/metrics`)).status).toBe(404)
  })
})

describe('seed backend', () => {
  it('registers by posting the service info; the heartbeat re-posts it', async () => {
    const b = backend()
    const lease = await b.register(spec('orders', 'orders-1', { metadata: { v: '1' } }), {})
    await b.renew(lease, {})
    const posts = centers.requests.filter((r) => r.center === 'registry' && r.method === 'POST')
    expect(posts).toHaveLength(2)
    expect(JSON.parse(posts[0]!.body)).toMatchObject({ name: 'orders', address: '10.1.2.3', port: 8080, metadata: { v: '1' }, id: 'orders-1' })
    expect(posts[1]!.body).toBe(posts[0]!.body)
    await b.close()
  })

  it('reads a record posted by a foreign seed service, deriving the instance id', async () => {
    centers.registry.set('legacy', { name: 'legacy', address: '10.0.0.9', port: '7000' })
    const b = backend()
    const snap = await b.resolve('legacy', {})
    expect(snap.instances).toEqual([
      { id: 'legacy@10.0.0.9:7000', service: 'legacy', address: '10.0.0.9', port: 7000, status: 'UP', metadata: {}, tags: [], weight: 1 },
    ])
    await b.close()
  })

  it.each([
    ['port', { name: 'bad', address: 'h', port: 'http' }],
    ['address', { name: 'bad', port: 1 }],
    ['name', { name: 'other', address: 'h', port: 1 }],
    ['answer', ['not', 'an', 'object']],
  ])('a stored record with a malformed %s is a ProtocolError naming it', async (field, record) => {
    centers.registry.set('bad', record)
    const b = backend()
    const error = await b.resolve('bad', {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).details?.field).toBe(field)
    await b.close()
  })

  it('turns Flask error pages into errors that name the center', async () => {
    const b = backend()
    centers.failNext('config')
    const failed = await b.putConfig!('k', 1, {}, {}).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(ServerError)
    expect((failed as Error).message).toMatch(/seed config center: .*500.*a field it needs/)
    const misrouted = seedBackend({ registry: SEED_URLS.config, monitor: SEED_URLS.monitor, config: SEED_URLS.config, logger: silentLogger })
    const error = await misrouted.register(spec('orders', 'o-1'), {}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RequestRejectedError)
    expect((error as Error).message).toMatch(/seed registry center: .*404.*really the seed's registry center/)
    await misrouted.close()
    await b.close()
  })

  it('config: the stored value itself; {"success": false} reads as absent (documented ambiguity)', async () => {
    const logger = recordingLogger()
    const b = backend(logger)
    await b.putConfig!('app', { success: false }, {}, {})
    expect(JSON.parse(centers.requests.at(-1)!.body)).toEqual({ name: 'app', config_info: { success: false } })
    expect(await b.getConfig('app', {})).toBeUndefined()
    expect(logger.warnings.join('\n')).toMatch(/reads back as "absent"/)
    await b.close()
  })

  it('ifVersion is checked (not atomically, and said once) against the backend\'s local versions', async () => {
    const logger = recordingLogger()
    const b = backend(logger)
    const first = await b.putConfig!('cas', 1, { ifVersion: '0' }, {})
    await expect(b.putConfig!('cas', 2, { ifVersion: '0' }, {})).rejects.toThrow(/version/)
    await b.putConfig!('cas', 2, { ifVersion: first.version }, {})
    await expect(b.putConfig!('cas', 2, { ifVersion: 'x' }, {})).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(logger.warnings.filter((w) => /not atomic/.test(w))).toHaveLength(1)
    await b.close()
  })

  it('deregister writes a tombstone only over its own record, and says so once', async () => {
    const logger = recordingLogger()
    const b = backend(logger)
    const mine = await b.register(spec('shared', 'mine'), {})
    await b.deregister(mine, {})
    expect(centers.registry.peek('shared')).toMatchObject({ id: 'mine', deregistered: true, status: 'DOWN' })
    const again = await b.register(spec('shared', 'mine'), {})
    centers.registry.set('shared', { name: 'shared', address: 'other', port: 1, id: 'theirs' })
    await b.deregister(again, {})
    expect(centers.registry.peek('shared')).toMatchObject({ id: 'theirs' })
    expect(logger.warnings.filter((w) => /cannot delete/.test(w))).toHaveLength(1)
    await b.close()
  })

  it('has no watch methods: the client polls it, and notifies only when the content changed', async () => {
    const b = backend()
    expect(b).not.toHaveProperty('watchService')
    expect(b).not.toHaveProperty('watchConfig')
    const watches = clientWatches(b)
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = watches.watchService('polled', rec)
    await rec.until((s) => s.instances.length === 0)
    const queries = () => centers.requests.filter((r) => r.path === '/query').length
    const before = queries()
    // Several polls with nothing new: still one delivery.
    while (queries() < before + 4) await new Promise((r) => setTimeout(r, 20))
    expect(rec.values).toHaveLength(1)
    await b.register(spec('polled', 'p-1'), {})
    await rec.until((s) => s.instances.length === 1)
    stop()
    expect(rec.values).toHaveLength(2)
    await watches.close()
    await b.close()
  })

  it('config watch (through the client) sees writes by other writers', async () => {
    const b = backend()
    const watches = clientWatches(b)
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = watches.watchConfig('shared-cfg', rec)
    await rec.until((v) => v === undefined)
    centers.config.set('shared-cfg', { rps: 5 })
    const hit = await rec.until((v) => v !== undefined)
    expect(hit.value?.value).toEqual({ rps: 5 })
    stop()
    await watches.close()
    await b.close()
  })

  it('posts one readable metrics object per service to the monitor', async () => {
    const b = backend()
    const sink = b.createMetricSink!()
    const batch = (timestamp: number, n: number): MetricBatch => ({
      batchId: `b-${timestamp}`,
      service: 'orders',
      instance: 'orders-1',
      timestamp,
      points: [
        { name: 'http_requests_total', kind: 'counter', labels: { route: '/a', status: '200' }, value: n },
        { name: 'http_requests_total', kind: 'counter', labels: { route: '/a', status: '503' }, value: 1 },
        { name: 'queue_depth', kind: 'gauge', labels: {}, value: 3 },
        { name: 'http_request_duration_ms', kind: 'histogram', labels: { route: '/a' }, buckets: [10, 100], counts: [8, 2, 0], sum: 250, count: 10 },
      ],
    })
    await sink.export(batch(10_000, 9), {})
    await sink.export(batch(20_000, 19), {})
    const stored = centers.monitor.peek('orders') as Record<string, unknown>
    expect(stored).toMatchObject({
      name: 'orders',
      instance: 'orders-1',
      timestamp: 20_000,
      windowMs: 10_000,
      summary: { requests: 20, throughputPerSec: 2, errors: 1, errorRate: 0.05, responseTimeMs: { count: 10, avg: 25 } },
      metrics: { 'http_requests_total{route="/a",status="200"}': 19, queue_depth: 3 },
    })
    expect((stored.points as unknown[]).length).toBe(4)
    expect(centers.requests.filter((r) => r.center === 'monitor')).toHaveLength(2)
    await b.close()
  })

  it('estimates quantiles from buckets', () => {
    expect(bucketQuantile([10, 100], [10, 0, 0], 0.5)).toBe(5)
    expect(bucketQuantile([10, 100], [0, 10, 0], 0.5)).toBe(55)
    expect(bucketQuantile([10, 100], [0, 0, 4], 0.99)).toBe(100)
    expect(bucketQuantile([10], [0, 0], 0.5)).toBeNull()
    expect(monitorRecord({ batchId: 'x', service: 's', instance: 'i', timestamp: 1, points: [] }, undefined)).toEqual({
      name: 's', instance: 'i', timestamp: 1, batchId: 'x', summary: {}, metrics: {}, points: [],
    })
  })

  it('validates its options eagerly', () => {
    expect(() => seedBackend({ registry: 'nope', monitor: SEED_URLS.monitor, config: SEED_URLS.config })).toThrow(/registry/)
    expect(() => seedBackend({ ...SEED_URLS, pollIntervalMs: 0 })).toThrow(/pollIntervalMs/)
    expect(() => seedBackend({ ...SEED_URLS, logger: 'quiet' as never })).toThrow(InvalidArgumentError)
    expect(() => seedBackend({ ...SEED_URLS, logger: null as never })).toThrow(/^seed\.logger must be an object with debug, info, warn and error methods, or false/)
    expect(() => seedBackend({ ...SEED_URLS, logger: { ...silentLogger, warn: 1 } as never })).toThrow(/logger\.warn must be a function/)
  })

  it('logger: false silences the once-only notices (it used to fail with "logger.warn is not a function")', async () => {
    const stderr = vi.spyOn(process.stderr, 'write')
    const b = seedBackend({ ...SEED_URLS, logger: false })
    try {
      const first = await b.putConfig!('quiet-cas', 1, { ifVersion: '0' }, {})
      await b.putConfig!('quiet-cas', 2, { ifVersion: first.version }, {})
      expect(stderr.mock.calls.filter(([text]) => String(text).includes('governance-client'))).toEqual([])
    } finally {
      stderr.mockRestore()
      await b.close()
    }
  })

  it('gov.services() is a NotSupportedError: the registry center has no way to list names', async () => {
    const b = backend()
    expect(b.listServices).toBeUndefined()
    await using gov = new GovernanceClient({ backend: b, logger: false, metrics: false, handleSignals: false })
    const error = await gov.services().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotSupportedError)
    expect((error as NotSupportedError).details).toEqual({ backend: 'seed' })
  })
})
