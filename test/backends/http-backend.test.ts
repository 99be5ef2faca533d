/**
 * The http backend against the real reference server (src/server/), on 127.0.0.1:0.
 * Decoding failures and other bent answers are in http-backend-decode.test.ts (msw).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { AuthError, ClientClosedError, ConflictError, InvalidArgumentError, LeaseLostError } from '../../src/errors.js'
import { createTransport } from '../../src/transport/index.js'
import type { ConfigEntry, InstanceSpec, MetricBatch, ServiceSnapshot } from '../../src/types.js'
import { watchRecorder } from '../helpers/watch-recorder.js'

interface ServerHandle {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}
type CreateServer = (options?: Record<string, unknown>) => Promise<ServerHandle>

// Imported by a computed path so that this file type-checks even while src/server/ is being written.
const serverPath = '../../src/server/index.js'
const createServer = ((await import(/* @vite-ignore */ serverPath).catch(() => undefined)) as { createGovernanceServer?: CreateServer } | undefined)?.createGovernanceServer

const ctx = {}
const spec = (id: string, extra: Partial<InstanceSpec> = {}): InstanceSpec => ({
  id,
  service: 'orders',
  address: '10.0.0.5',
  port: 8080,
  status: 'UP',
  metadata: { version: '1.4.2' },
  tags: ['http'],
  weight: 1,
  ttlMs: 15_000,
  ...extra,
})

describe.skipIf(createServer === undefined)('http backend against the reference server', () => {
  let server: ServerHandle
  const backends: Backend[] = []
  const unhandledRejections: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason)

  function backend(options: Partial<Parameters<typeof httpBackend>[0]> = {}, url = server.url): Backend {
    const b = httpBackend({ server: url, watchWaitMs: 2_000, requestTimeoutMs: 2_000, ...options })
    backends.push(b)
    return b
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    server = await createServer!({ port: 0 })
  })
  afterEach(async () => void (await Promise.all(backends.splice(0).map((b) => b.close()))))
  afterAll(async () => {
    await server?.close()
    process.off('unhandledRejection', onUnhandled)
    expect(unhandledRejections).toEqual([])
  })

  it('has the name and capabilities of protocol v1', () => {
    const b = backend()
    expect(b.name).toBe('http')
    expect(Object.values(b.capabilities).every(Boolean)).toBe(true)
  })

  it('registers, resolves, renews and deregisters', async () => {
    const b = backend()
    const lease = await b.register(spec('orders-1:8080', { zone: 'eu-1a', weight: 3 }), ctx)
    expect(lease).toEqual({ id: 'orders-1:8080', service: 'orders', instanceId: 'orders-1:8080', ttlMs: 15_000 })
    const snap = await b.resolve('orders', ctx)
    expect(snap.instances).toEqual([
      { id: 'orders-1:8080', service: 'orders', address: '10.0.0.5', port: 8080, status: 'UP', metadata: { version: '1.4.2' }, tags: ['http'], zone: 'eu-1a', weight: 3 },
    ])
    expect(snap.revision).toMatch(/^[1-9]\d*$/)
    await expect(b.renew(lease, ctx)).resolves.toEqual({ ttlMs: 15_000 })
    await b.deregister(lease, ctx)
    await expect(b.resolve('orders', ctx)).resolves.toMatchObject({ instances: [] })
    await expect(b.deregister(lease, ctx)).resolves.toBeUndefined() // idempotent
    const lost = await b.renew(lease, ctx).catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(LeaseLostError)
    expect((lost as Error).message).toContain('no longer holds instance orders-1:8080 of orders')
  })

  it('reports the TTL the server applied', async () => {
    const b = backend()
    const lease = await b.register(spec('short', { ttlMs: 10 }), ctx)
    expect(lease.ttlMs).toBe(1_000) // clamped to [1000, 600000]
    await b.deregister(lease, ctx)
  })

  it('reads, writes with compare-and-set and deletes config', async () => {
    const b = backend()
    await expect(b.getConfig('cfg-a', ctx)).resolves.toBeUndefined()
    const first = await b.putConfig!('cfg-a', { limit: 5 }, { ifVersion: '0' }, ctx)
    expect(first).toEqual({ key: 'cfg-a', value: { limit: 5 }, version: expect.stringMatching(/^[1-9]\d*$/) })
    await expect(b.getConfig('cfg-a', ctx)).resolves.toEqual(first)
    const conflict = await b.putConfig!('cfg-a', { limit: 6 }, { ifVersion: '0' }, ctx).catch((e: unknown) => e)
    expect(conflict).toBeInstanceOf(ConflictError)
    expect(conflict).toMatchObject({ status: 409, details: { key: 'cfg-a', ifVersion: '0', currentVersion: first.version } })
    const second = await b.putConfig!('cfg-a', null, { ifVersion: first.version }, ctx)
    expect(second.value).toBeNull()
    await expect(b.deleteConfig!('cfg-a', { ifVersion: first.version }, ctx)).rejects.toBeInstanceOf(ConflictError)
    await expect(b.deleteConfig!('cfg-a', {}, ctx)).resolves.toBe(true)
    await expect(b.deleteConfig!('cfg-a', {}, ctx)).resolves.toBe(false)
    await expect(b.putConfig!('cfg-a', undefined, {}, ctx)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(b.putConfig!('cfg-a', 1, { ifVersion: 'seven' }, ctx)).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('watches a service with blocking queries', async () => {
    const b = backend()
    const rec = watchRecorder<ServiceSnapshot>()
    const stop = b.watchService!('payments', rec)
    const initial = await rec.takeValue()
    expect(initial.value.instances).toEqual([])
    expect(initial.meta.reset).toBe(false)
    const lease = await b.register(spec('p-1', { service: 'payments' }), ctx)
    const changed = await rec.takeValue()
    expect(changed.value.instances.map((i) => i.id)).toEqual(['p-1'])
    expect(BigInt(changed.meta.revision)).toBeGreaterThan(BigInt(initial.meta.revision))
    expect(changed.meta.reset).toBe(false)
    await b.deregister(lease, ctx)
    expect((await rec.takeValue()).value.instances).toEqual([])
    stop()
    expect(rec.errors).toEqual([])
  })

  it('watches a config key through absent, written and deleted', async () => {
    const b = backend()
    const rec = watchRecorder<ConfigEntry | undefined>()
    b.watchConfig!('cfg-w', rec)
    expect((await rec.takeValue()).value).toBeUndefined()
    await b.putConfig!('cfg-w', 'on', {}, ctx)
    expect((await rec.takeValue()).value).toMatchObject({ key: 'cfg-w', value: 'on' })
    await b.deleteConfig!('cfg-w', {}, ctx)
    expect((await rec.takeValue()).value).toBeUndefined()
  })

  it('pushes metric batches; a repeated batchId is applied once', async () => {
    const b = backend()
    const sink = b.createMetricSink!()
    const batch: MetricBatch = {
      batchId: 'b-test-1',
      service: 'orders',
      instance: 'orders-1',
      timestamp: Date.now(),
      points: [{ name: 'http_requests_total', kind: 'counter', labels: { route: '/a' }, value: 2 }],
    }
    await sink.export(batch, ctx)
    await sink.export(batch, ctx)
    const t = createTransport({ servers: [server.url] })
    try {
      const res = await t.request<{ totals: { name: string; value: number }[] }>({ method: 'GET', path: '/v1/metrics/orders' })
      expect(res.body.totals).toEqual([expect.objectContaining({ name: 'http_requests_total', value: 2 })])
    } finally {
      await t.close()
    }
  })

  it('close() ends watches and refuses calls', async () => {
    const b = backend()
    const rec = watchRecorder<ServiceSnapshot>()
    b.watchService!('closing', rec)
    await rec.takeValue()
    await b.close()
    await expect(b.resolve('closing', ctx)).rejects.toBeInstanceOf(ClientClosedError)
    expect(() => b.watchService!('closing', rec)).toThrow(ClientClosedError)
    await b.close()
  })
})

describe.skipIf(createServer === undefined)('http backend and a restarted or guarded reference server', () => {
  it('sees the lower index after a restart as a reset', async () => {
    let server = await createServer!({ port: 0 })
    const port = server.port
    const b = httpBackend({ server: server.url, watchWaitMs: 1_000, requestTimeoutMs: 1_000 })
    try {
      await b.register(spec('r-1', { service: 'restarts' }), ctx)
      await b.register(spec('r-2', { service: 'restarts' }), ctx)
      const rec = watchRecorder<ServiceSnapshot>()
      b.watchService!('restarts', rec)
      const before = await rec.takeValue()
      expect(before.value.instances).toHaveLength(2)
      await server.close()
      server = await createServer!({ port })
      const after = await rec.takeValue()
      expect(after.meta.reset).toBe(true)
      expect(after.value.instances).toEqual([])
      expect(BigInt(after.meta.revision)).toBeLessThan(BigInt(before.meta.revision))
    } finally {
      await b.close()
      await server.close()
    }
  })

  it('sends the token; a read token cannot write', async () => {
    const server = await createServer!({ port: 0, token: 'write-token', readToken: 'read-token' })
    const anonymous = httpBackend({ server: server.url })
    const reader = httpBackend({ server: server.url, token: 'read-token' })
    const writer = httpBackend({ server: server.url, token: 'write-token' })
    try {
      await expect(anonymous.resolve('orders', ctx)).rejects.toMatchObject({ status: 401 })
      await expect(anonymous.resolve('orders', ctx)).rejects.toBeInstanceOf(AuthError)
      await expect(reader.resolve('orders', ctx)).resolves.toMatchObject({ instances: [] })
      await expect(reader.register(spec('x'), ctx)).rejects.toMatchObject({ status: 403 })
      await expect(writer.register(spec('x'), ctx)).resolves.toMatchObject({ id: 'x' })
    } finally {
      await Promise.all([anonymous.close(), reader.close(), writer.close()])
      await server.close()
    }
  })
})
