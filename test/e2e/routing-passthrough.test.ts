/**
 * gov.fetch with a dotless host that names no registered service (a Kubernetes Service name,
 * an /etc/hosts entry): the request goes to the normal network, here a plain local HTTP
 * server reached through a resolver that maps the name to 127.0.0.1. `strict` keeps the
 * old answer, NoAvailableInstanceError; a registered service is still routed.
 */
import type { LookupFunction } from 'node:net'
import { Agent } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { DiscoveryOptions } from '../../src/discovery/index.js'
import { createRoutedDiscovery, type RoutedDiscovery as Discovery } from '../helpers/routed-discovery.js'
import { NoAvailableInstanceError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import { startLocalServer } from '../helpers/local-server.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
})

/** Resolves `web-frontend` (and only it) to loopback, as cluster DNS would resolve a Service name. */
const clusterDns: LookupFunction = (hostname, options, callback) => {
  if (hostname !== 'web-frontend') return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4)
  if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }])
  callback(null, '127.0.0.1', 4)
}

async function setup(strict: boolean | undefined, port: number): Promise<{ discovery: Discovery; backend: MemoryBackend }> {
  const passthrough = new Agent({ connect: { lookup: clusterDns } })
  cleanup.push(() => passthrough.close())
  const backend = createMemoryBackend()
  const rewrite = { serviceHost: (host: string) => (host === `web-frontend:${port}` ? 'web-frontend' : /^[a-z-]+$/.test(host) ? host : undefined) }
  const discovery = createRoutedDiscovery({ routing: { passthrough, ...rewrite, ...(strict === undefined ? {} : { strict }) } }, {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 2_000,
  })
  cleanup.push(() => discovery.close())
  return { discovery, backend }
}

describe('gov.fetch: names that are not services', () => {
  it('passes an unknown dotless name through to the network, and routes a registered one', async () => {
    const web = await startLocalServer((req, res) => res.end(`web ${req.method} ${req.url} host=${req.headers.host}`))
    cleanup.push(() => web.close())
    const orders = await startLocalServer((_req, res) => res.end('orders instance'))
    cleanup.push(() => orders.close())
    const { discovery, backend } = await setup(undefined, web.port)
    backend.addInstance({ service: 'orders', id: 'o1', address: '127.0.0.1', port: orders.port })

    const res = await discovery.fetch(`http://web-frontend:${web.port}/home?x=1`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(`web GET /home?x=1 host=web-frontend:${web.port}`)
    const post = await discovery.fetch(`http://web-frontend:${web.port}/form`, { method: 'POST', body: 'a=1' })
    expect(await post.text()).toBe('web POST /form host=web-frontend:' + web.port)
    expect(await (await discovery.fetch('http://orders/x')).text()).toBe('orders instance')
  })

  it('with strict, an unknown name fails with NoAvailableInstanceError and never reaches the network', async () => {
    let reached = 0
    const web = await startLocalServer((_req, res) => {
      reached++
      res.end('web')
    })
    cleanup.push(() => web.close())
    const { discovery } = await setup(true, web.port)
    const error = await discovery.fetch(`http://web-frontend:${web.port}/home`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoAvailableInstanceError)
    expect(error).toMatchObject({ details: { service: 'web-frontend', registered: 0 } })
    expect(reached).toBe(0)
  })

  it('a registered service whose instances are all filtered out still fails, it does not leak to DNS', async () => {
    const { discovery, backend } = await setup(undefined, 1)
    backend.addInstance({ service: 'payments', id: 'p1', address: '127.0.0.1', port: 1, status: 'DOWN' })
    const error = await discovery.fetch('http://payments/charge').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoAvailableInstanceError)
    expect(error).toMatchObject({ details: { service: 'payments', registered: 1 } })
  })
})
