/**
 * gov.fetch / gov.dispatcher against three real local HTTP instances, one of which is killed
 * mid-test: no idempotent request fails, traffic moves to the live ones, the dead one is
 * ejected. Instances are registered in the in-memory backend.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import type { UpstreamOutcome } from '../../src/types.js'
import type { DiscoveryOptions } from '../../src/discovery/index.js'
import { createRoutedDiscovery, type RoutedDiscovery as Discovery } from '../helpers/routed-discovery.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend } from '../../src/testing/index.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
})

async function instance(name: string): Promise<{ server: Server; port: number; kill: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.end(name))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const kill = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  cleanup.push(kill)
  return { server, port: (server.address() as AddressInfo).port, kill }
}

describe('routing by service name', () => {
  it('keeps every idempotent request working while an instance dies, and ejects it', async () => {
    const [a, b, c] = await Promise.all([instance('a'), instance('b'), instance('c')])
    const backend = createMemoryBackend()
    for (const [id, i] of [['a', a], ['b', b], ['c', c]] as const) backend.addInstance({ service: 'pay', id, address: '127.0.0.1', port: i.port })
    const records: { outcome: UpstreamOutcome }[] = []
    const discovery: Discovery = createRoutedDiscovery({}, {
      backend,
      emit: () => {},
      logger: silentLogger,
      clock: systemClock,
      requestTimeoutMs: 1_000,
      upstream: { record: (_service, outcome) => records.push({ outcome }) },
    })
    cleanup.push(() => discovery.close())

    const get = async (): Promise<string> => {
      const res = await discovery.fetch('http://pay/work')
      expect(res.status).toBe(200)
      return res.text()
    }
    const batch = (n: number) => Promise.all(Array.from({ length: n }, get))

    const before = (await batch(30)).concat(await batch(30))
    expect(new Set(before)).toEqual(new Set(['a', 'b', 'c']))

    // Kill b while a batch is in flight.
    const during = batch(12)
    await b.kill()
    const afterKill = await during
    expect(afterKill).toHaveLength(12)

    const after: string[] = []
    for (let round = 0; round < 10; round++) after.push(...(await batch(6)))
    // PUT with a replayable body through the dispatcher: retried too.
    for (let i = 0; i < 6; i++) {
      const res = await request('http://pay/put', { method: 'PUT', body: 'x', dispatcher: discovery.dispatcher })
      expect(res.statusCode).toBe(200)
      after.push(await res.body.text())
    }
    expect(after.every((name) => name === 'a' || name === 'c')).toBe(true)

    // b was ejected: the balancer no longer offers it, and the last requests met no failure.
    const offered = new Set(Array.from({ length: 60 }, () => discovery.pickSync('pay')?.id))
    expect(offered).toEqual(new Set(['a', 'c']))
    const errors = records.filter((r) => r.outcome.error).length
    expect(errors).toBeGreaterThanOrEqual(5) // the default consecutiveFailures
    expect(records.slice(-30).some((r) => r.outcome.error)).toBe(false)
  })
})
