/**
 * What a Kubernetes deployment relies on, against the real reference server: the address
 * registered from POD_IP, and gov.readinessHandler() on a real node:http server answering
 * 503 before register(), 200 while registered, 503 once the server lost the lease (the
 * client's heartbeats cut by a proxy until the server expired it), 200 again after the
 * client re-registered, 503 from the start of close().
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
})

const ENV_VARS = ['GOVERNANCE_ADDRESS', 'POD_IP', 'HOST_IP'] as const

/** Runs `fn` with exactly these address variables set (the others unset), then restores them. */
function withAddressEnv<T>(values: Partial<Record<(typeof ENV_VARS)[number], string>>, fn: () => T): T {
  const saved = ENV_VARS.map((name) => [name, process.env[name]] as const)
  for (const name of ENV_VARS) delete process.env[name]
  Object.assign(process.env, values)
  try {
    return fn()
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

async function referenceServer(): Promise<GovernanceServer> {
  const server = await createGovernanceServer({ port: 0 })
  cleanup.push(() => server.close())
  return server
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('Kubernetes: address from the environment and readiness', () => {
  it('registers the address in POD_IP, and GOVERNANCE_ADDRESS before it', async () => {
    const server = await referenceServer()
    const observer = new GovernanceClient({ server: server.url, logger: false, metrics: false, handleSignals: false })
    cleanup.push(() => observer.close())
    const pod = withAddressEnv({ POD_IP: '10.244.1.17', HOST_IP: '192.168.7.2' }, () =>
      new GovernanceClient({ server: server.url, service: { name: 'orders', port: 8080 }, logger: false, metrics: false, handleSignals: false }),
    )
    cleanup.push(() => pod.close())
    const named = withAddressEnv({ GOVERNANCE_ADDRESS: 'orders-0.orders.default.svc', POD_IP: '10.244.1.18' }, () =>
      new GovernanceClient({ server: server.url, service: { name: 'orders', port: 8080 }, logger: false, metrics: false, handleSignals: false }),
    )
    cleanup.push(() => named.close())
    await Promise.all([pod.register(), named.register()])
    const seen = await observer.discover('orders')
    const byId = new Map(seen.map((i) => [i.id, i.address]))
    expect(byId.get(pod.instanceId)).toBe('10.244.1.17')
    expect(byId.get(named.instanceId)).toBe('orders-0.orders.default.svc')
  })

  it('answers /readyz 503 before register(), 200 registered, 503 after the server lost the lease, 503 on close()', async () => {
    const server = await referenceServer()
    const proxy = await startTcpProxy(server.url)
    cleanup.push(() => proxy.close())
    const gov = new GovernanceClient({
      server: proxy.url,
      service: { name: 'orders', port: 8080, address: '127.0.0.1' },
      heartbeatIntervalMs: 300,
      ttlMs: 1_500,
      requestTimeoutMs: 500,
      logger: false,
      metrics: false,
      handleSignals: false,
    })
    cleanup.push(() => gov.close())
    const readyz = await serve(gov.readinessHandler())
    const probe = async (): Promise<number> => (await fetch(`${readyz}/readyz`)).status

    expect(await probe()).toBe(503)
    expect(gov.ready()).toBe(false)
    await gov.register()
    expect(await probe()).toBe(200)
    const body = (await (await fetch(`${readyz}/readyz`)).json()) as Record<string, unknown>
    expect(body).toEqual({ ready: true, state: 'registered', status: 'UP' })

    // Heartbeats stop reaching the server: it expires the instance, the client sees the lease gone.
    proxy.pause(true)
    proxy.cut()
    const heldByServer = async (): Promise<boolean> => {
      const answer = (await (await fetch(`${server.url}/v1/services/orders`)).json()) as { instances: { id: string }[] }
      return answer.instances.some((i) => i.id === gov.instanceId)
    }
    expect(await heldByServer()).toBe(true)
    await waitFor('the server to expire the instance', async () => !(await heldByServer()))
    await waitFor('the client to see its lease lost', () => gov.registrationState === 'lost')
    expect(await probe()).toBe(503)

    proxy.pause(false)
    await waitFor('re-registration', () => gov.ready())
    expect(await probe()).toBe(200)

    const closing = gov.close()
    expect(await probe()).toBe(503)
    await closing
    expect(await probe()).toBe(503)
  })
})
