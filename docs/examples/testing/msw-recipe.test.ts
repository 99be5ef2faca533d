import { afterAll, beforeAll, expect, it } from 'vitest'
import { http, HttpResponse } from 'msw'
import { defineNetwork, InMemoryHandlersController, InterceptorSource } from 'msw/experimental'
import { HttpRequestInterceptor } from '@mswjs/interceptors/http'
import { GovernanceClient } from 'governance-client'
import { createTestRegistry } from 'governance-client/testing'
import { protocolV1Handlers } from 'governance-client/testing/msw'

const registry = createTestRegistry()

// Your own msw network, with the socket-level interceptor: msw's setupServer() does not see
// requests sent with undici (the client's HTTP stack), this sees undici, node:http and fetch.
const network = defineNetwork({
  sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
  handlers: new InMemoryHandlersController([
    http.get('http://billing.test/invoices', () => HttpResponse.json([])), // your handlers
    ...protocolV1Handlers({ baseUrl: 'http://registry.test', registry }),
  ]),
  onUnhandledFrame: 'error',
  context: { quiet: true }, // without this msw logs every request
})

beforeAll(() => network.enable())
afterAll(async () => {
  await network.disable()
  await registry.close()
})

it('serves the registry next to your own handlers', async () => {
  registry.setConfig('orders', { maxAmount: 50 })
  const gov = new GovernanceClient({ server: 'http://registry.test', logger: false })
  try {
    expect((await gov.config.get('orders'))?.value).toEqual({ maxAmount: 50 })
    expect(await (await fetch('http://billing.test/invoices')).json()).toEqual([])
  } finally {
    await gov.close()
  }
})
