/** gov.services() over protocol v1 (GET /v1/services), strict about the answer; subscriptions past cacheSize. */
import { afterEach, describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/client.js'
import { InvalidArgumentError, ProtocolError } from '../../src/errors.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import { startLocalServer, type LocalServer } from '../helpers/local-server.js'
import { add } from '../fixtures/scripted-discovery-backend.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()))
})

async function serverAnswering(body: unknown): Promise<LocalServer> {
  const server = await startLocalServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(req.url === '/v1/services' ? body : { error: { code: 'NOT_FOUND', message: req.url } }))
  })
  open.push(server)
  return server
}

function client(server: string): GovernanceClient {
  const gov = new GovernanceClient({ server, logger: false, metrics: false, requestTimeoutMs: 2_000 })
  open.push(gov)
  return gov
}

describe('gov.services() over protocol v1', () => {
  it('answers the names, sorted', async () => {
    const server = await serverAnswering({ services: [{ name: 'payments', instances: 2 }, { name: 'orders', instances: 1 }], index: '9' })
    expect(await client(server.url).services()).toEqual(['orders', 'payments'])
  })

  it('rejects a malformed answer with ProtocolError naming the field', async () => {
    const server = await serverAnswering({ services: [{ instances: 2 }], index: '9' })
    const error = await client(server.url).services().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toContain('services[0].name')
  })
})

describe('subscriptions past cacheSize', () => {
  it('a subscribed service pushed out of the cache ends its subscription with an error event', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    backend.addInstance({ service: 'other', id: 'o1', address: '10.0.0.3', port: 1 })
    const gov = new GovernanceClient({ backend, logger: false, metrics: false, discovery: { cacheSize: 1 } })
    open.push(gov)
    const errors: unknown[] = []
    gov.on('error', (e) => errors.push(e))
    const stream = gov.subscribe('pay')
    expect((await stream.next()).value).toMatchObject({ first: true })
    await gov.discover('other')
    expect(await stream.next()).toEqual({ value: undefined, done: true })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(InvalidArgumentError)
    expect((errors[0] as Error).message).toContain('cacheSize')
  })
})
