/**
 * The multiplexed watch against real server processes: many watches on one connection, a
 * server frozen with SIGSTOP (keep-alive silence, failover to the next server, resume), and
 * hundreds of streams on one server.
 */
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { startTestServer } from '../../src/testing/index.js'
import type { ConfigEntry, ServiceSnapshot } from '../../src/types.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { WatchRecorder, eventually } from '../backends/watch-recorder.js'
import { runCli, type CliProcess } from '../server/process-helpers.js'

const backends: Backend[] = []
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()))
})

function backend(options: Parameters<typeof httpBackend>[0]): Backend {
  const b = httpBackend(options)
  backends.push(b)
  return b
}

/** Counts keep-alive confirmations beside the deliveries. */
class Confirming<T> extends WatchRecorder<T> {
  confirmations = 0
  confirmed(): void {
    this.confirmations++
  }
}

async function serverProcess(): Promise<{ cli: CliProcess; url: string }> {
  const cli = runCli(['--port', '0'])
  return { cli, url: await cli.url }
}

async function put(base: string, path: string, body: unknown): Promise<any> {
  const res = await request(`${base}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.statusCode).toBe(200)
  return res.body.json()
}

const register = (base: string, service: string, id: string) => put(base, `/v1/services/${service}/instances/${id}`, { address: '10.0.0.1', port: 80, ttlMs: 60_000 })
const health = async (base: string): Promise<any> => (await request(`${base}/v1/health`)).body.json()
const hasInstance = (id: string) => (s: ServiceSnapshot) => s.instances.some((i) => i.id === id)

describe('multiplexed watch against real servers', () => {
  it('carries 100 services and 100 config keys on one connection and delivers every change', async () => {
    const { url } = await serverProcess()
    const proxy = await startTcpProxy(url)
    try {
      const client = backend({ server: proxy.url, watchKeepAliveMs: 300 })
      const services = Array.from({ length: 100 }, (_, i) => new Confirming<ServiceSnapshot>())
      const keys = Array.from({ length: 100 }, (_, i) => new Confirming<ConfigEntry | undefined>())
      services.forEach((rec, i) => client.watchService!(`svc-${i}`, rec))
      keys.forEach((rec, i) => client.watchConfig!(`key-${i}`, rec))
      await Promise.all([...services, ...keys].map((rec) => rec.until(() => true)))
      for (let i = 0; i < 100; i++) {
        await register(url, `svc-${i}`, `inst-${i}`)
        await put(url, `/v1/config/key-${i}`, { value: { n: i } })
      }
      await Promise.all(services.map((rec, i) => rec.until(hasInstance(`inst-${i}`))))
      await Promise.all(keys.map((rec, i) => rec.until((e) => (e?.value as { n?: number } | undefined)?.n === i)))
      // Hundreds of instances in one service, arriving as diffs on the same stream.
      for (let i = 0; i < 300; i++) await register(url, 'svc-0', `many-${i}`)
      await services[0]!.until((s) => s.instances.length === 301)
      await eventually(() => services.every((r) => r.confirmations > 0) && keys.every((r) => r.confirmations > 0), 5_000, 'keep-alive confirmations')
      // Server side: one accepted socket and one held stream carried all 200 watches.
      expect(proxy.accepted).toBe(1)
      expect(proxy.connections).toBe(1)
      expect((await health(url)).watchStreams).toBe(1)
      expect([...services, ...keys].every((r) => r.errors.length === 0)).toBe(true)
    } finally {
      await proxy.close()
    }
  })

  it('notices a frozen server from keep-alive silence and fails over to the next one, resuming there', async () => {
    const [a, b] = await Promise.all([serverProcess(), serverProcess()])
    const pid = a.cli.child.pid!
    try {
      const keepAliveMs = 300
      const silenceMs = 2 * keepAliveMs + 1_000 // the client's bound (docs/backends/http.md)
      const client = backend({ server: [a.url, b.url], watchKeepAliveMs: keepAliveMs, requestTimeoutMs: 1_000 })
      const svc = new Confirming<ServiceSnapshot>()
      const key = new Confirming<ConfigEntry | undefined>()
      client.watchService!('orders', svc)
      client.watchConfig!('flags', key)
      await register(a.url, 'orders', 'on-a')
      await svc.until(hasInstance('on-a'))
      await key.until(() => true)

      process.kill(pid, 'SIGSTOP')
      const frozenAt = Date.now()
      await eventually(() => svc.errors.length > 0, silenceMs + 4_000, 'an error after keep-alive silence')
      const noticedMs = Date.now() - frozenAt
      expect(noticedMs, svc.errors[0]!.message).toBeGreaterThanOrEqual(silenceMs - 400)
      expect(noticedMs).toBeLessThan(silenceMs + 4_000)
      expect(svc.errors[0]!.name, svc.errors[0]!.message).toBe('TimeoutError')

      // B never saw A's instance: the stream resumed there and got B's state as a reset.
      const onB = await svc.until((s, meta) => meta.reset && !hasInstance('on-a')(s), 6_000)
      expect(onB.value.instances).toEqual([])
      await register(b.url, 'orders', 'on-b')
      await put(b.url, '/v1/config/flags', { value: { beta: true } })
      await svc.until(hasInstance('on-b'), 6_000)
      await key.until((e) => e?.value !== undefined, 6_000)
      expect((await health(b.url)).watchStreams).toBe(1)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  })

  it('a cut stream resumes from the indexes held: changes made meanwhile arrive once, nothing repeats', async () => {
    const { url } = await serverProcess()
    const proxy = await startTcpProxy(url)
    try {
      const client = backend({ server: proxy.url, watchKeepAliveMs: 200 })
      const svc = new WatchRecorder<ServiceSnapshot>()
      const key = new WatchRecorder<ConfigEntry | undefined>()
      client.watchService!('orders', svc)
      client.watchConfig!('flags', key)
      await register(url, 'orders', 'o1')
      await put(url, '/v1/config/flags', { value: 1 })
      await svc.until(hasInstance('o1'))
      await key.until((e) => e?.value === 1)
      proxy.pause(true)
      proxy.cut()
      await register(url, 'orders', 'o2')
      await put(url, '/v1/config/flags', { value: 2 })
      await eventually(() => svc.errors.length > 0, 5_000, 'the cut noticed')
      proxy.pause(false)
      await svc.until((s) => hasInstance('o2')(s) && hasInstance('o1')(s), 8_000)
      await key.until((e) => e?.value === 2, 8_000)
      for (const rec of [svc, key] as WatchRecorder<unknown>[]) {
        const revisions = rec.values.map((v) => BigInt(v.meta.revision))
        expect(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!), `revisions ${revisions.join(', ')}`).toBe(true)
        expect(rec.values.every((v) => !v.meta.reset)).toBe(true)
      }
      expect(proxy.accepted).toBeGreaterThanOrEqual(2)
    } finally {
      await proxy.close()
    }
  })

  it('holds 300 clients, each with its own stream, and wakes all of them on one change', async () => {
    const { url } = await serverProcess()
    const recorders = Array.from({ length: 300 }, () => new WatchRecorder<ServiceSnapshot>())
    recorders.forEach((rec, i) => {
      const client = backend({ server: url })
      client.watchService!('shared', rec)
      client.watchConfig!(`own-${i}`, new WatchRecorder())
    })
    await Promise.all(recorders.map((rec) => rec.until(() => true, 20_000)))
    await eventually(async () => (await health(url)).watchStreams === 300, 10_000, '300 streams held')
    await register(url, 'shared', 'one')
    await Promise.all(recorders.map((rec) => rec.until(hasInstance('one'), 20_000)))
  })

  it('falls back to blocking queries on a server without the feature (the testing kit server)', async () => {
    const server = await startTestServer()
    try {
      const refused = await request(`${server.url}/v1/watch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resources":[]}' })
      await refused.body.text()
      expect([404, 405]).toContain(refused.statusCode)
      const client = backend({ server: server.url, watchKeepAliveMs: 200 })
      const rec = new WatchRecorder<ServiceSnapshot>()
      client.watchService!('orders', rec)
      await rec.until((s) => s.instances.length === 0)
      const registrar = backend({ server: server.url })
      await registrar.register({ service: 'orders', id: 'o1', address: '10.0.0.1', port: 80, ttlMs: 30_000, status: 'UP', metadata: {}, tags: [], weight: 1 }, {})
      await rec.until(hasInstance('o1'))
      expect(rec.errors).toEqual([])
    } finally {
      await server.close()
    }
  })
})
