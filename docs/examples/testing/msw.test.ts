import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { GovernanceClient } from 'governance-client'
import { protocolV1Handlers, setupGovernanceMsw, type GovernanceMsw } from 'governance-client/testing/msw'

// Protocol v1 at a made-up origin, answered from a test registry (handlers.registry).
const handlers = protocolV1Handlers({ baseUrl: 'http://registry.test' })
const { registry } = handlers
let msw: GovernanceMsw

beforeAll(async () => {
  msw = await setupGovernanceMsw(handlers) // msw with the interceptor that sees undici
})
afterEach(() => registry.clearRecords())
afterAll(async () => {
  await msw.close()
  await registry.close()
})

it('talks protocol v1 over the client’s real HTTP stack', async () => {
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '10.0.0.7', port: 9000 })
  const gov = new GovernanceClient({ server: 'http://registry.test', service: { name: 'orders', port: 8080 }, logger: false })
  try {
    await gov.register()
    expect((await gov.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])
    expect(registry.registrations[0]?.instance).toMatchObject({ service: 'orders', port: 8080 })
  } finally {
    await gov.close()
  }
})
