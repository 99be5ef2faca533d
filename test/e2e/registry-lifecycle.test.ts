/**
 * The registration lifecycle against the real reference server over the http backend:
 * a server restarted empty, a server that comes up late, and close() orchestration.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { httpBackend } from '../../src/backends/http/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { eventually } from '../backends/watch-recorder.js'
import { liveRegistration, type LiveRegistration } from '../fixtures/registry-e2e.js'
import { timerLateness, type TimerLateness } from '../helpers/busy-machine.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const HEARTBEAT_MS = 500
const service = { name: 'orders', port: 8080, address: '127.0.0.1', id: 'orders-e2e' }

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

/** Measured timer lateness, granted on top of each timing bound (see busy-machine.ts). */
function lateness(): TimerLateness {
  const late = timerLateness()
  cleanup.push(async () => late.stop())
  return late
}

/** A server on a port of its own choosing (port 0), closed after the test. */
async function server(): Promise<GovernanceServer> {
  const s = await createGovernanceServer({ port: 0, host: '127.0.0.1', closeGraceMs: 100 })
  cleanup.push(() => s.close())
  return s
}

/**
 * The address the client keeps using across restarts: a proxy that holds its port for the
 * whole test (no port is ever freed and reused) and refuses connections until a server is
 * put behind it.
 */
async function stableAddress(): Promise<TcpProxy> {
  const proxy = await startTcpProxy()
  cleanup.push(() => proxy.close())
  return proxy
}

/** A new server behind the proxy. */
async function serverBehind(proxy: TcpProxy): Promise<GovernanceServer> {
  const s = await server()
  proxy.retarget(s.url)
  return s
}

function live(url: string, options: Parameters<typeof liveRegistration>[1] = {}): LiveRegistration {
  const l = liveRegistration(url, { service, heartbeatIntervalMs: HEARTBEAT_MS, ttlMs: 3_000, ...options })
  cleanup.push(() => l.close())
  return l
}

/** The instances the server lists now, through an independent client. */
async function listed(url: string): Promise<{ id: string; status: string }[]> {
  const observer = httpBackend({ server: url, requestTimeoutMs: 1_000 })
  try {
    return (await observer.resolve('orders', {})).instances.map(({ id, status }) => ({ id, status }))
  } finally {
    await observer.close()
  }
}

/** Median round trip of a registry read, to state the recovery bound in the server's terms. */
async function roundTripMs(url: string): Promise<number> {
  const observer = httpBackend({ server: url, requestTimeoutMs: 1_000 })
  const times: number[] = []
  try {
    for (let i = 0; i < 5; i++) {
      const start = performance.now()
      await observer.resolve('orders', {})
      times.push(performance.now() - start)
    }
  } finally {
    await observer.close()
  }
  return times.sort((a, b) => a - b)[2]!
}

describe('registration against the reference server', () => {
  it('is back within heartbeatIntervalMs plus one round trip after the server restarts empty', async () => {
    const proxy = await stableAddress()
    const first = await serverBehind(proxy)
    // A TTL far beyond the outage: the lease must be lost because the restarted server says
    // so, not because the client's deadline (ttlMs minus the margin after the last renewal)
    // ran out meanwhile, which with 3 s it could on a slow machine.
    const l = live(proxy.url, { ttlMs: 10_000 })
    await l.registration.register()
    expect(await listed(first.url)).toEqual([{ id: 'orders-e2e', status: 'UP' }])
    const rtt = await roundTripMs(first.url)

    // Down long enough for the backoff to reach its cap (one interval), but not the deadline.
    const failed = l.next('registry:renewFailed', (e) => e.failures >= 5)
    proxy.pause(true)
    proxy.cut()
    await first.close()
    await failed
    expect(l.registration.state).toBe('renewing-failed')
    const lost = l.next('registry:leaseLost')
    const back = l.next('registry:registered', (e) => e.epoch === 2)
    const late = lateness()
    const second = await serverBehind(proxy)
    const upAt = performance.now()
    const registered = await back
    const elapsed = performance.now() - upAt
    console.info(
      `registry e2e: back ${elapsed.toFixed(0)} ms after the restart (interval ${HEARTBEAT_MS} ms, rtt ${rtt.toFixed(1)} ms, timer lateness ${late.ms().toFixed(0)} ms)`,
    )
    expect(await lost).toMatchObject({ epoch: 1, reason: 'server' })
    expect(registered.epoch).toBe(2)
    // Allowance on top of the round trip: small delays, plus the timer lateness measured meanwhile.
    expect(elapsed).toBeLessThanOrEqual(HEARTBEAT_MS + rtt + 150 + late.ms())
    expect(await listed(second.url)).toEqual([{ id: 'orders-e2e', status: 'UP' }])
  })

  it('register() keeps trying while the server is down at startup and resolves once it is up', async () => {
    const proxy = await stableAddress()
    const url = proxy.url
    const l = live(url, { heartbeatIntervalMs: 1_000 })
    const late = lateness()
    const started = performance.now()
    let upAt = 0
    // The server comes up late on purpose: register() must wait through 3 s of refused connections.
    const serverUp = new Promise<void>((resolve, reject) =>
      setTimeout(() => serverBehind(proxy).then(() => ((upAt = performance.now()), resolve()), reject), 3_000),
    )
    await l.registration.register()
    const resolvedAt = performance.now()
    await serverUp
    expect(resolvedAt - started).toBeGreaterThanOrEqual(3_000)
    expect(resolvedAt - upAt).toBeLessThanOrEqual(1_000 + 150 + late.ms())
    expect(await listed(url)).toEqual([{ id: 'orders-e2e', status: 'UP' }])
  })

  it('register({ wait: false }) returns at once and the instance appears when the server is up', async () => {
    const proxy = await stableAddress()
    const url = proxy.url
    const l = live(url, { heartbeatIntervalMs: 1_000 })
    const registered = l.next('registry:registered')
    const late = lateness()
    const started = performance.now()
    await l.registration.register({ wait: false })
    // At once: a register() that waited would take the 3 s until the server is up.
    expect(performance.now() - started).toBeLessThan(50 + late.ms())
    expect(l.registration.state).toBe('registering')
    // The server stays down on purpose for 3 s, while the loop retries in the background.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    await serverBehind(proxy)
    const upAt = performance.now()
    await registered
    expect(performance.now() - upAt).toBeLessThanOrEqual(1_000 + 150 + late.ms())
    expect(await listed(url)).toEqual([{ id: 'orders-e2e', status: 'UP' }])
  })

  it('close() shows the instance DOWN during the drain and removes it within one round trip after', async () => {
    const s = await server()
    const l = live(s.url, { drainMs: 1_000 })
    await l.registration.register()
    const down = l.next('registry:statusChanged')
    let closed = false
    const closing = l.registration.close().finally(() => (closed = true))
    await down
    // The DOWN push is two calls (renew, then upsert) that land inside the drain: poll the
    // server until it shows DOWN, or until close() is over, which would be too late.
    const during = await eventually(async () => {
      const now = await listed(s.url)
      return closed || now[0]?.status === 'DOWN' ? { now, closed } : undefined
    }, 10_000, 'the instance listed DOWN')
    expect(during).toEqual({ now: [{ id: 'orders-e2e', status: 'DOWN' }], closed: false })
    await closing
    expect(await listed(s.url)).toEqual([])
    expect(l.registration.state).toBe('closed')
  })
})
