/**
 * Per-attempt timeouts, the circuit breaker and the held-connection budget, against real
 * loopback servers: one that accepts and never answers (a hung server), one that answers.
 */
import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError, RequestRejectedError, TimeoutError } from '../../src/errors.js'
import { createTransport, type Transport, type TransportOptions } from '../../src/transport/index.js'
import { startLocalServer, type LocalServer } from '../helpers/local-server.js'

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** Holds every request open (never answers) until the test ends. */
async function hungServer(): Promise<LocalServer & { hits: () => number }> {
  const held: ServerResponse[] = []
  const s = await startLocalServer((_req, res) => void held.push(res))
  cleanups.push(() => s.close())
  return Object.assign(s, { hits: () => held.length })
}

async function goodServer(): Promise<LocalServer & { hits: () => number }> {
  let hits = 0
  const s = await startLocalServer((_req, res) => {
    hits++
    res.setHeader('content-type', 'application/json')
    res.end('{"ok":true}')
  })
  cleanups.push(() => s.close())
  return Object.assign(s, { hits: () => hits })
}

function transport(options: TransportOptions): Transport {
  const t = createTransport(options)
  cleanups.push(() => t.close())
  return t
}

describe('failover away from a hung server', () => {
  it('gives the first server a share of the deadline, then answers from the next', async () => {
    const hung = await hungServer()
    const good = await goodServer()
    const t = transport({ servers: [hung.url, good.url], requestTimeoutMs: 1_000 })
    // Without a share of its own the first attempt would eat the whole deadline: a TimeoutError.
    const res = await t.request({ method: 'GET', path: '/x' })
    expect(res.server).toBe(good.url)
  })

  it('marks the hung server failed: later calls go to the other first (breaker open)', async () => {
    const hung = await hungServer()
    const good = await goodServer()
    const t = transport({ servers: [hung.url, good.url], requestTimeoutMs: 600, breaker: { cooldownMs: 60_000 } })
    await t.request({ method: 'GET', path: '/x' })
    const hitsBefore = hung.hits()
    for (let i = 0; i < 5; i++) await t.request({ method: 'GET', path: '/x' })
    expect(hung.hits()).toBe(hitsBefore)
    expect(good.hits()).toBe(6)
  })

  it('a call whose whole deadline passed on a single server still marks it failed', async () => {
    const hung = await hungServer()
    const good = await goodServer()
    // A held call keeps the whole deadline on one server; when it passes, that server is failed.
    const t = transport({ servers: [hung.url, good.url], requestTimeoutMs: 300, breaker: { cooldownMs: 60_000 } })
    await expect(t.request({ method: 'GET', path: '/x', held: true, retry: false })).rejects.toBeInstanceOf(TimeoutError)
    const res = await t.request({ method: 'GET', path: '/x' })
    expect(res.server).toBe(good.url)
    expect(hung.hits()).toBe(1)
  })

  it('after the cool-down one call probes the failed server again (half-open) and it recovers', async () => {
    let hang = true
    const held: ServerResponse[] = []
    const flaky = await startLocalServer((_req, res) => {
      if (hang) return void held.push(res)
      res.setHeader('content-type', 'application/json')
      res.end('{"from":"flaky"}')
    })
    cleanups.push(() => flaky.close())
    const good = await goodServer()
    const t = transport({ servers: [flaky.url, good.url], requestTimeoutMs: 400, breaker: { cooldownMs: 100, maxCooldownMs: 100 } })
    expect((await t.request({ method: 'GET', path: '/x' })).server).toBe(good.url)
    hang = false
    await new Promise((resolve) => setTimeout(resolve, 150))
    await good.close() // only the recovered server can answer now
    expect((await t.request({ method: 'GET', path: '/x' })).server).toBe(flaky.url)
  })
})

describe('held requests', () => {
  it('use a pool apart from unary calls: a full unary pool does not delay them, and vice versa', async () => {
    const answered: string[] = []
    const held: ServerResponse[] = []
    const s = await startLocalServer((req, res) => {
      if (req.url?.startsWith('/hold')) return void held.push(res)
      answered.push(req.url ?? '')
      res.setHeader('content-type', 'application/json')
      res.end('{}')
    })
    cleanups.push(() => s.close())
    const t = transport({ servers: [s.url], connections: 1, heldConnections: 4, requestTimeoutMs: 2_000 })
    const holds = Array.from({ length: 4 }, () => t.request({ method: 'GET', path: '/hold', held: true, retry: false }).catch(() => undefined))
    await new Promise((resolve) => setTimeout(resolve, 100))
    // On a shared one-connection pool this call would queue behind the holds and time out.
    await t.request({ method: 'GET', path: '/unary' })
    expect(answered).toEqual(['/unary'])
    // Past heldConnections a held request is refused at once, never queued in silence.
    await expect(t.request({ method: 'GET', path: '/hold', held: true, retry: false })).rejects.toThrow(RequestRejectedError)
    await t.close()
    await Promise.all(holds)
  })
})

describe('options', () => {
  it('validates heldConnections, attemptTimeoutMs and breaker, and refuses unknown keys', () => {
    const servers = ['http://127.0.0.1:1']
    expect(() => createTransport({ servers, heldConnections: 0 })).toThrow(/transport\.heldConnections must be a positive integer/)
    expect(() => createTransport({ servers, attemptTimeoutMs: -1 })).toThrow(/attemptTimeoutMs must be a positive/)
    expect(() => createTransport({ servers, breaker: { cooldownMs: 0 } })).toThrow(/breaker.cooldownMs/)
    expect(() => createTransport({ servers, breaker: { cooldownMs: 50, maxCooldownMs: 10 } })).toThrow(/transport\.breaker\.cooldownMs must not exceed transport\.breaker\.maxCooldownMs \(10\), got 50/)
    expect(() => createTransport({ servers, breaker: { cooldown: 5 } as never })).toThrow(/breaker.cooldown is not an option/)
    expect(() => createTransport({ servers, heldConections: 5 } as never)).toThrow(InvalidArgumentError)
    expect(() => createTransport({ servers, heldConections: 5 } as never)).toThrow(/heldConections is not an option/)
  })
})
