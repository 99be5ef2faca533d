/** A hash key reaches consistentHash() through pick(), pickSync(), gov.fetch and the dispatcher's hashHeader. */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { consistentHash } from '../../src/balancer/index.js'
import type { DiscoveryOptions } from '../../src/discovery/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { resolveRoutingOptions } from '../../src/routing/index.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import type { UpstreamOutcome } from '../../src/types.js'
import { createRoutedDiscovery } from '../helpers/routed-discovery.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** An HTTP instance answering its own name. */
async function listen(name: string): Promise<number> {
  const server = createServer((_req, res) => res.end(name))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return (server.address() as AddressInfo).port
}

/** A port nothing listens on (connections refused). */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

function setup(backend: MemoryBackend, options: DiscoveryOptions = {}) {
  const records: UpstreamOutcome[] = []
  const discovery = createRoutedDiscovery(
    { defaultBalancer: consistentHash(), outlier: false, ...options },
    { backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000, upstream: { record: (_s, outcome) => records.push(outcome) } },
  )
  cleanup.push(() => discovery.close())
  return { discovery, records }
}

async function threeInstances(): Promise<MemoryBackend> {
  const backend = createMemoryBackend()
  for (const id of ['a', 'b', 'c']) backend.addInstance({ service: 'pay', id, address: '127.0.0.1', port: await listen(id) })
  return backend
}

const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`)

describe('PickOptions.hashKey', () => {
  it('sends the same key to the same instance across calls, and different keys over several', async () => {
    const { discovery } = setup(await threeInstances())
    const first = await discovery.pick('pay', { hashKey: 'user-7' })
    for (let i = 0; i < 20; i++) {
      expect(discovery.pickSync('pay', { hashKey: 'user-7' })?.id).toBe(first.id)
      expect((await discovery.pick('pay', { hashKey: 'user-7' })).id).toBe(first.id)
      expect(discovery.pickSync('pay', { hashKey: 'user-7', status: ['UP'] })?.id).toBe(first.id)
    }
    expect(new Set(keys.map((k) => discovery.pickSync('pay', { hashKey: k })?.id)).size).toBe(3)
    // Other balancers ignore the key.
    expect(new Set(Array.from({ length: 9 }, () => discovery.pickSync('pay', { hashKey: 'user-7', strategy: 'round-robin' })?.id)).size).toBe(3)
  })

  it('refuses a key that is not a string', async () => {
    const { discovery } = setup(await threeInstances())
    await discovery.pick('pay')
    await expect(discovery.pick('pay', { hashKey: 7 as unknown as string })).rejects.toThrow(/pick\(\): options\.hashKey must be a string, got 7/)
    await expect(discovery.pick('pay', { hashKey: 7 as unknown as string })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', { hashKey: 7 as unknown as string })).toBeUndefined()
  })

  it('a retry elsewhere honours exclude: the key moves to its next instance only while its own is excluded', async () => {
    const { discovery } = setup(await threeInstances())
    await discovery.pick('pay')
    const own = discovery.routingSource.pickSync('pay', { hashKey: 'user-3' })!
    const elsewhere = discovery.routingSource.pickSync('pay', { hashKey: 'user-3', exclude: new Set([own.id]) })!
    expect(elsewhere.id).not.toBe(own.id)
    for (let i = 0; i < 10; i++) expect(discovery.routingSource.pickSync('pay', { hashKey: 'user-3', exclude: new Set([own.id]) })?.id).toBe(elsewhere.id)
    expect(discovery.routingSource.pickSync('pay', { hashKey: 'user-3' })?.id).toBe(own.id)
  })
})

describe('routed requests with a hash key', () => {
  it('gov.fetch(url, { hashKey }) goes to the key’s instance every time', async () => {
    const { discovery } = setup(await threeInstances())
    const expected = (await discovery.pick('pay', { hashKey: 'cart-42' })).id
    for (let i = 0; i < 10; i++) expect(await (await discovery.fetch('http://pay/x', { hashKey: 'cart-42' })).text()).toBe(expected)
    const spread = new Set(await Promise.all(keys.map(async (k) => (await discovery.fetch('http://pay/x', { hashKey: k })).text())))
    expect(spread.size).toBe(3)
    await expect(discovery.fetch('http://pay/x', { hashKey: 5 as unknown as string })).rejects.toThrow(/gov\.fetch: init\.hashKey must be a string/)
  })

  it('gov.dispatcher takes the key from the `hashHeader` request header', async () => {
    const { discovery } = setup(await threeInstances(), { routing: { hashHeader: 'X-Session' } })
    const expected = (await discovery.pick('pay', { hashKey: 'sess-9' })).id
    for (let i = 0; i < 6; i++) {
      const res = await request('http://pay/x', { dispatcher: discovery.dispatcher, headers: { 'x-session': 'sess-9' } })
      expect(await res.body.text()).toBe(expected)
    }
    for (let i = 0; i < 6; i++) expect(await (await discovery.fetch('http://pay/x', { headers: [['X-Session', 'sess-9']] })).text()).toBe(expected)
    expect(() => resolveRoutingOptions({ hashHeader: 'bad header' })).toThrow(/discovery\.routing\.hashHeader must be an HTTP header name/)
  })

  it('a key whose instance refuses connections is retried on another instance, not the same one', async () => {
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'pay', id: 'dead', address: '127.0.0.1', port: await deadPort() })
    backend.addInstance({ service: 'pay', id: 'live', address: '127.0.0.1', port: await listen('live') })
    const { discovery, records } = setup(backend)
    await discovery.pick('pay')
    const key = keys.find((k) => discovery.pickSync('pay', { hashKey: k })?.id === 'dead')!
    expect(key).toBeDefined()
    const res = await discovery.fetch('http://pay/x', { method: 'POST', body: 'x', hashKey: key })
    expect(await res.text()).toBe('live')
    expect(records).toEqual([{ error: true }, { status: 200 }])
  })
})

describe('the public API', () => {
  it('gov.pick / gov.pickSync / gov.fetch take the hash key; outlierEjection(consistentHash()) composes', async () => {
    const { GovernanceClient, outlierEjection } = await import('../../src/index.js')
    const backend = await threeInstances()
    const gov = new GovernanceClient({ backend, logger: false, metrics: false, discovery: { defaultBalancer: outlierEjection(consistentHash()) } })
    cleanup.push(() => gov.close())
    const owner = (await gov.pick('pay', { hashKey: 'k-1' })).id
    for (let i = 0; i < 5; i++) {
      expect(gov.pickSync('pay', { hashKey: 'k-1' })?.id).toBe(owner)
      expect(await (await gov.fetch('http://pay/', { hashKey: 'k-1' })).text()).toBe(owner)
    }
  })
})
