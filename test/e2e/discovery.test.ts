/**
 * Discovery against the real reference server over loopback, through the protocol v1
 * backend (blocking queries): changes arrive without asking, outages are served from memory,
 * a cold start from disk, and a restarted server's new instance set arrives by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { createDiscovery, resolveDiscoveryOptions, type Discovery } from '../../src/discovery/index.js'
import type { GovernanceEventName, GovernanceEvents } from '../../src/events.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import type { Instance } from '../../src/types.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
})

/** A server on a port of its own choosing, closed after the test. */
async function startServer(): Promise<GovernanceServer> {
  const server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  cleanup.push(() => server.close())
  return server
}

/** The clients' stable address across a restart: a proxy holding its port (none is freed and reused). */
async function stableAddress(server: GovernanceServer): Promise<TcpProxy> {
  const proxy = await startTcpProxy(server.url)
  cleanup.push(() => proxy.close())
  return proxy
}

function backendFor(server: { url: string }): Backend {
  const backend = httpBackend({ server: server.url, requestTimeoutMs: 1_000 })
  cleanup.push(() => backend.close())
  return backend
}

type Waiter = { event: GovernanceEventName; test: (p: unknown) => boolean; resolve: (p: unknown) => void }

function client(backend: Backend, dataDir?: string) {
  const events: { event: GovernanceEventName; payload: unknown }[] = []
  const waiters: Waiter[] = []
  const discovery: Discovery = createDiscovery(
    resolveDiscoveryOptions({ minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 50, maxDelayMs: 300 } }),
    {
      backend,
      emit: (event, payload) => {
        events.push({ event, payload })
        for (const w of [...waiters]) {
          if (w.event === event && w.test(payload)) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(payload)
          }
        }
      },
      logger: silentLogger,
      clock: systemClock,
      requestTimeoutMs: 1_000,
      ...(dataDir !== undefined && { dataDir }),
    },
  )
  cleanup.push(() => discovery.close())
  /** Resolves at the next matching event (no polling, no sleeps). */
  const next = <K extends GovernanceEventName>(event: K, test: (p: GovernanceEvents[K]) => boolean = () => true) =>
    new Promise<GovernanceEvents[K]>((resolve) => waiters.push({ event, test: test as (p: unknown) => boolean, resolve: resolve as (p: unknown) => void }))
  const changes = () => events.filter((e) => e.event === 'discovery:changed').map((e) => e.payload as GovernanceEvents['discovery:changed'])
  return { discovery, next, changes }
}

async function register(backend: Backend, id: string, port: number): Promise<void> {
  await backend.register({ id, service: 'pay', address: '10.1.0.1', port, status: 'UP', metadata: { v: '1' }, tags: [], weight: 1, ttlMs: 60_000 }, {})
}

const ids = (list: readonly Instance[]) => list.map((i) => i.id).sort()

describe('discovery against the reference server', () => {
  it('follows changes by itself, survives a server stop, starts cold from disk, and takes a restarted set with the right diff', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gov-e2e-discovery-'))
    cleanup.push(() => rm(dir, { recursive: true, force: true }))
    let server = await startServer()
    const proxy = await stableAddress(server)
    const admin = backendFor(server)
    await register(admin, 'a', 1)
    await register(admin, 'b', 2)

    const one = client(backendFor(proxy))
    const first = await one.discovery.discover('pay')
    expect(ids(first)).toEqual(['a', 'b'])
    expect(first.source).toBe('live')

    // A change at the server reaches the cache with no call by the application.
    const added = one.next('discovery:changed')
    await register(admin, 'c', 3)
    expect((await added).diff.added.map((i) => i.id)).toEqual(['c'])
    expect(ids(await one.discovery.discover('pay'))).toEqual(['a', 'b', 'c'])

    // A client with a dataDir stores the snapshot; close() waits for the write.
    const writer = client(backendFor(proxy), dir)
    expect(ids(await writer.discovery.discover('pay'))).toEqual(['a', 'b', 'c'])
    await writer.discovery.close()

    // The server stops: answers keep coming from memory.
    const stale = one.next('discovery:stale')
    await admin.close()
    proxy.pause(true)
    proxy.cut()
    await server.close()
    await stale
    const during = await one.discovery.discover('pay')
    expect(ids(during)).toEqual(['a', 'b', 'c'])
    expect(during.source).toBe('memory')
    expect(one.discovery.pickSync('pay')).toBeDefined()

    // Another client starts cold while the server is down: the snapshot on disk answers.
    const two = client(backendFor(proxy), dir)
    const cold = await two.discovery.discover('pay')
    expect(ids(cold)).toEqual(['a', 'b', 'c'])
    expect(cold.source).toBe('disk')

    // The server restarts with an empty registry and gets another set. (b first: whatever
    // state a client catches in between, b never looks removed and re-added.)
    const oneSettled = one.next('discovery:changed', (p) => ids(p.instances).join() === 'b,d')
    const twoSettled = two.next('discovery:changed', (p) => ids(p.instances).join() === 'b,d')
    server = await startServer()
    proxy.retarget(server.url)
    const admin2 = backendFor(server)
    await register(admin2, 'b', 2)
    await register(admin2, 'd', 4)
    await Promise.all([oneSettled, twoSettled])
    for (const c of [one, two]) {
      const list = await c.discovery.discover('pay')
      expect(ids(list)).toEqual(['b', 'd'])
      expect(list.source).toBe('live')
      // Whatever the order the server's answers came in, the announced diffs add up to the change.
      const since = c.changes().filter((p) => p.reset || p.diff.added.some((i) => i.id === 'd') || p.diff.removed.length > 0)
      const addedIds = new Set(since.flatMap((p) => p.diff.added.map((i) => i.id)))
      const removedIds = new Set(since.flatMap((p) => p.diff.removed.map((i) => i.id)))
      expect([...addedIds]).toEqual(['d'])
      expect([...removedIds].sort()).toEqual(['a', 'c'])
    }

    // And it keeps watching the new server.
    const later = one.next('discovery:changed', (p) => p.diff.added.some((i) => i.id === 'e'))
    await register(admin2, 'e', 5)
    await later
    expect(ids(await one.discovery.discover('pay'))).toEqual(['b', 'd', 'e'])
  })
})
