import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { UpstreamOutcome } from '../../src/types.js'
import type { DiscoveryOptions } from '../../src/discovery/index.js'
import { createRoutedDiscovery, type RoutedDiscovery as Discovery } from '../helpers/routed-discovery.js'
import type { Balancer } from '../../src/balancer/index.js'
import { ClientClosedError, NoAvailableInstanceError, UpstreamError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { defaultServiceHost } from '../../src/routing/index.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'

const cleanup: (() => Promise<unknown>)[] = []

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return { server, port: (server.address() as AddressInfo).port }
}

function setup(backend: MemoryBackend, options: DiscoveryOptions = {}) {
  const records: { service: string; outcome: UpstreamOutcome; ms: number }[] = []
  const discovery: Discovery = createRoutedDiscovery(options, {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
    upstream: { record: (service, outcome, ms) => records.push({ service, outcome, ms }) },
  })
  cleanup.push(() => discovery.close())
  return { discovery, records }
}

/** Service 'pay' with instance 'a' on a closed port (connections refused) and 'b' answering 'live'. */
async function deadAndLive(): Promise<MemoryBackend> {
  const dead = await listen((_req, res) => res.end())
  const deadPort = dead.port
  await new Promise((resolve) => dead.server.close(resolve))
  const live = await listen((_req, res) => res.end('live'))
  const backend = createMemoryBackend()
  backend.addInstance({ service: 'pay', id: 'a', address: '127.0.0.1', port: deadPort })
  backend.addInstance({ service: 'pay', id: 'b', address: '127.0.0.1', port: live.port })
  return backend
}

describe('which hosts are services', () => {
  it('takes a bare name as a service and passes DNS names, IPs, ports and localhost through', () => {
    expect(defaultServiceHost('payments')).toBe('payments')
    expect(defaultServiceHost('pay_ments-2')).toBe('pay_ments-2')
    expect(defaultServiceHost('example.com')).toBeUndefined()
    expect(defaultServiceHost('127.0.0.1')).toBeUndefined()
    expect(defaultServiceHost('[::1]')).toBeUndefined()
    expect(defaultServiceHost('payments:8080')).toBeUndefined()
    expect(defaultServiceHost('localhost')).toBeUndefined()
  })
})

describe('routing', () => {
  it('sends a service-named request to an instance and passes other hosts through untouched', async () => {
    const inst = await listen((req, res) => res.end(`instance ${req.url} host=${req.headers.host}`))
    const other = await listen((req, res) => res.end(`other ${req.url}`))
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'p1', address: '127.0.0.1', port: inst.port })
    const { discovery, records } = setup(backend)
    const routed = await discovery.fetch('http://pay/charge?x=1')
    expect(await routed.text()).toBe(`instance /charge?x=1 host=127.0.0.1:${inst.port}`)
    const direct = await discovery.fetch(`http://127.0.0.1:${other.port}/plain`)
    expect(await direct.text()).toBe('other /plain')
    const viaDispatcher = await request('http://pay/d', { dispatcher: discovery.dispatcher })
    expect(await viaDispatcher.body.text()).toBe(`instance /d host=127.0.0.1:${inst.port}`)
    expect(records.map((r) => [r.service, r.outcome.status])).toEqual([['pay', 200], ['pay', 200]])
    expect(records.every((r) => r.ms >= 0)).toBe(true)
  })

  it('fails with the GovernanceError itself (not fetch\'s bare TypeError) when no instance is available', async () => {
    const { discovery } = setup(createMemoryBackend(), { routing: { strict: true } })
    const error = await discovery.fetch('http://nosuch/').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoAvailableInstanceError)
    await expect(request('http://nosuch/', { dispatcher: discovery.dispatcher })).rejects.toBeInstanceOf(NoAvailableInstanceError)
  })

  it('retries any method, POST included, on another instance after a refused connection (nothing was sent)', async () => {
    const backend = await deadAndLive()
    const { discovery, records } = setup(backend, { outlier: false })
    const posts = await Promise.all(Array.from({ length: 4 }, () => discovery.fetch('http://pay/', { method: 'POST', body: 'x' }).then((r) => r.text())))
    expect(posts).toEqual(['live', 'live', 'live', 'live'])
    expect(records.filter((r) => r.outcome.error)).toHaveLength(2)
  })

  it('retries on another instance even when the balancer would pick the failed one again (exclude, not re-draws)', async () => {
    const backend = await deadAndLive()
    // Always 'a' unless told to exclude it: four re-draws would all land on the dead instance.
    const stubborn: Balancer = {
      name: 'stubborn',
      build: (set) => ({ pick: (context) => set.find((i) => i.id === 'a' && !context?.exclude?.has('a')) ?? set.find((i) => !context?.exclude?.has(i.id)) }),
    }
    const { discovery, records } = setup(backend, { outlier: false, defaultBalancer: stubborn })
    const posts = await Promise.all(Array.from({ length: 3 }, () => discovery.fetch('http://pay/', { method: 'POST', body: 'x' }).then((r) => r.text())))
    expect(posts).toEqual(['live', 'live', 'live'])
    expect(records.filter((r) => r.outcome.error)).toHaveLength(3)
  })

  it('does not resend a POST whose connection broke after it was written; an idempotent GET goes elsewhere', async () => {
    // Reads the whole request, then cuts the connection: the request did reach it.
    const cutter = await listen((req, res) => {
      req.resume()
      req.on('end', () => res.socket?.destroy())
    })
    const live = await listen((_req, res) => res.end('live'))
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'cut', address: '127.0.0.1', port: cutter.port })
    backend.addInstance({ service: 'pay', id: 'live', address: '127.0.0.1', port: live.port })
    const { discovery } = setup(backend, { outlier: false })
    const posts = await Promise.all(
      Array.from({ length: 4 }, () =>
        discovery.fetch('http://pay/', { method: 'POST', body: 'x' }).then(
          (r) => r.text(),
          (e: unknown) => (e instanceof UpstreamError ? `upstream ${String(e.details?.['instanceId'])}` : String(e)),
        ),
      ),
    )
    expect(posts.sort()).toEqual(['live', 'live', 'upstream cut', 'upstream cut'])
    const gets = await Promise.all(Array.from({ length: 4 }, () => discovery.fetch('http://pay/').then((r) => r.text())))
    expect(gets).toEqual(['live', 'live', 'live', 'live'])
  })

  it('ejects an instance that keeps answering 5xx, and keeps sending to the others', async () => {
    const bad = await listen((_req, res) => { res.statusCode = 503; res.end('bad') })
    const good = await listen((_req, res) => res.end('good'))
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'bad', address: '127.0.0.1', port: bad.port })
    backend.addInstance({ service: 'pay', id: 'good', address: '127.0.0.1', port: good.port })
    const { discovery } = setup(backend, { outlier: { consecutiveFailures: 3, maxEjectionPercent: 50 } })
    const bodies: string[] = []
    for (let i = 0; i < 20; i++) bodies.push(await (await discovery.fetch('http://pay/')).text())
    expect(bodies.filter((b) => b === 'bad')).toHaveLength(3)
    expect(bodies.slice(-10)).toEqual(Array(10).fill('good'))
  })

  it('least-request sends most traffic to the faster of two real instances', async () => {
    const slow = await listen((_req, res) => setTimeout(() => res.end('slow'), 40))
    const fast = await listen((_req, res) => setTimeout(() => res.end('fast'), 2))
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'slow', address: '127.0.0.1', port: slow.port })
    backend.addInstance({ service: 'pay', id: 'fast', address: '127.0.0.1', port: fast.port })
    const { discovery } = setup(backend, { defaultBalancer: 'least-request' })
    const round = () => Promise.all(Array.from({ length: 4 }, async () => (await discovery.fetch('http://pay/')).text()))
    // Warm-up rounds: the first samples carry connection set-up, which a busy machine can make slow for either.
    for (let i = 0; i < 5; i++) await round()
    const seen: string[] = []
    for (let i = 0; i < 10; i++) seen.push(...(await round()))
    expect(seen.filter((s) => s === 'fast').length).toBeGreaterThan(seen.filter((s) => s === 'slow').length * 2)
  })

  it('refuses routed requests after close', async () => {
    const { discovery } = setup(createMemoryBackend())
    await discovery.close()
    await expect(discovery.fetch('http://pay/')).rejects.toBeInstanceOf(ClientClosedError)
  })
})
