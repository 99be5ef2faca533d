import { afterAll, beforeAll, expect, it } from 'vitest'
import { GovernanceClient, ProtocolError } from 'governance-client'
import { startTestServer, type TestServer } from 'governance-client/testing'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer() // protocol v1 on 127.0.0.1, a free port
})
afterAll(async () => {
  await server.close()
  await server.registry.close()
})

it('exercises the whole HTTP path: retries, decoding, outages', async () => {
  const { registry } = server
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 9000 })
  const gov = new GovernanceClient({ server: server.url, logger: false })
  try {
    registry.failNext('resolve', 2) // two 503s: the transport retries them
    expect((await gov.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])
    expect(registry.count('resolve')).toBe(3)

    registry.malformedNext('getConfig') // a body that is not JSON
    await expect(gov.config.get('orders')).rejects.toBeInstanceOf(ProtocolError)

    registry.setUnreachable(true) // connections are dropped until it is turned off
    await new Promise((resolve) => gov.once('discovery:stale', resolve))
    expect((await gov.discover('payments')).source).toBe('memory')
    registry.setUnreachable(false)
  } finally {
    await gov.close()
  }
})
