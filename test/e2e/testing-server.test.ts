/**
 * startTestServer(): the test registry over loopback HTTP (127.0.0.1:0), to the real
 * client's whole HTTP path. Injected faults reach the wire: an outage drops connections,
 * a malformed answer is a body that is not JSON, errors for the next calls are 503s.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GovernanceClient, ProtocolError } from '../../src/index.js'
import type { GovernanceClientCommonOptions } from '../../src/options.js'
import type { GovernanceEventName, GovernanceEvents } from '../../src/events.js'
import { createTestRegistry, startTestServer, type TestRegistry, type TestServer } from '../../src/testing/index.js'

const ORDERS = { name: 'orders', port: 8080, address: '10.0.0.5', id: 'orders-1' }

let registry: TestRegistry
let server: TestServer
const clients: GovernanceClient[] = []

beforeEach(async () => {
  registry = createTestRegistry()
  server = await startTestServer({ registry })
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await server.close()
  await registry.close()
})

function client(extra: Partial<GovernanceClientCommonOptions> = {}): GovernanceClient {
  const gov = new GovernanceClient({
    server: server.url,
    logger: false,
    heartbeatIntervalMs: 100,
    discovery: { minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 10, maxDelayMs: 50 } },
    ...extra,
  })
  clients.push(gov)
  return gov
}

function events<K extends GovernanceEventName>(gov: GovernanceClient, name: K): GovernanceEvents[K][] {
  const seen: GovernanceEvents[K][] = []
  gov.on(name, ((payload: GovernanceEvents[K]) => seen.push(payload)) as never)
  return seen
}

const pay = (id: string) => ({ service: 'pay', id, address: `10.0.1.${id.slice(1)}`, port: 9000 })
const ids = (list: readonly { id: string }[]) => list.map((i) => i.id)

describe('startTestServer', () => {
  it('listens on a loopback port and serves the real client', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    registry.addInstance(pay('p1'))
    const gov = client({ service: ORDERS })
    await gov.register()
    expect(ids(await gov.discover('pay'))).toEqual(['p1'])
    expect(registry.instances('orders')).toEqual([expect.objectContaining({ id: 'orders-1' })])
    registry.addInstance(pay('p2'))
    await expect.poll(async () => ids(await gov.discover('pay'))).toEqual(['p1', 'p2'])
    await gov.close()
    expect(registry.deregistrations.map((d) => d.error)).toEqual([undefined])
  })

  it('drops connections while unreachable: the client serves from memory and recovers', async () => {
    registry.addInstance(pay('p1'))
    const gov = client()
    const stale = events(gov, 'discovery:stale')
    await gov.discover('pay')
    registry.setUnreachable(true) // for as long as it takes: the transport's retries absorb short outages
    await expect.poll(() => stale).toHaveLength(1)
    expect((await gov.discover('pay')).source).toBe('memory')
    await expect(fetch(`${server.url}/v1/health`)).rejects.toThrow()
    registry.setUnreachable(false)
    await expect.poll(async () => (await gov.discover('pay')).source).toBe('live')
  })

  it('sends a body that is not JSON as the malformed answer, and 503s as errors for the next calls', async () => {
    registry.setConfig('orders', 1)
    const gov = client({ requestTimeoutMs: 2_000 })
    registry.malformedNext('getConfig')
    await expect(gov.config.get('orders')).rejects.toBeInstanceOf(ProtocolError)
    registry.failNext('getConfig', 1)
    const direct = await fetch(`${server.url}/v1/config/orders`)
    expect([direct.status, ((await direct.json()) as { error: { code: string } }).error.code]).toEqual([503, 'unavailable'])
    registry.failNext('getConfig', 1)
    expect(await gov.config.get('orders')).toMatchObject({ value: 1 }) // the transport retries a 503
  })

  it('answers held blocking queries at once when it closes', async () => {
    registry.addInstance(pay('p1'))
    const index = registry.serviceRevision('pay')
    const held = fetch(`${server.url}/v1/services/pay?index=${index}&wait=60s`)
    await expect.poll(() => registry.openWatches).toBe(1) // the query is held
    await registry.close()
    const answer = await held
    expect(await answer.json()).toMatchObject({ index })
  })
})
