import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ExpiryQueue } from '../../src/server/expiry.js'
import { call, instanceBody, startServer } from './helpers.js'

describe('instance expiry', () => {
  it('removes an instance that is not renewed within its ttl and wakes the watchers', async () => {
    const s = await startServer()
    const reg = await call(s.url, 'PUT', '/v1/services/a/instances/short', { body: instanceBody({ ttlMs: 1_000 }) })
    await call(s.url, 'PUT', '/v1/services/a/instances/long', { body: instanceBody({ ttlMs: 60_000 }) })
    const index = (await call(s.url, 'GET', '/v1/services/a')).json.index
    const started = performance.now()
    const answer = await call(s.url, 'GET', `/v1/services/a?index=${index}&wait=20s`)
    const elapsed = performance.now() - started
    expect(answer.json.instances.map((i: { id: string }) => i.id)).toEqual(['long'])
    expect(BigInt(answer.json.index)).toBeGreaterThan(BigInt(index))
    // Deadline was ~1 s after the registration; the protocol asks for removal within a second of it.
    expect(elapsed).toBeLessThan(2_500)
    expect(BigInt(reg.json.index)).toBeLessThan(BigInt(answer.json.index))
    expect((await call(s.url, 'PUT', '/v1/services/a/instances/short/heartbeat')).status).toBe(404)
  })

  it('keeps an instance that is renewed and expires it once renewals stop', async () => {
    const s = await startServer()
    const reg = await call(s.url, 'PUT', '/v1/services/a/instances/x', { body: instanceBody({ ttlMs: 1_000 }) })
    // Renew for ~1.5 ttl; each renewal is awaited, so the lease never lapses.
    const renewUntil = performance.now() + 1_500
    while (performance.now() < renewUntil) {
      const hb = await call(s.url, 'PUT', '/v1/services/a/instances/x/heartbeat')
      expect(hb.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const list = await call(s.url, 'GET', '/v1/services/a')
    expect(list.json.index).toBe(reg.json.index)
    expect(list.json.instances).toHaveLength(1)
    const answer = await call(s.url, 'GET', `/v1/services/a?index=${reg.json.index}&wait=20s`)
    expect(answer.json.instances).toEqual([])
  })

  it('applies a shorter ttl from a re-registration', async () => {
    const s = await startServer()
    await call(s.url, 'PUT', '/v1/services/a/instances/x', { body: instanceBody({ ttlMs: 600_000 }) })
    const shorter = await call(s.url, 'PUT', '/v1/services/a/instances/x', { body: instanceBody({ ttlMs: 1_000 }) })
    const answer = await call(s.url, 'GET', `/v1/services/a?index=${shorter.json.index}&wait=20s`)
    expect(answer.json.instances).toEqual([])
  })
})

describe('ExpiryQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  function fakeQueue() {
    const due: [string, number, number][] = []
    const queue = new ExpiryQueue<string>((item, at, now) => due.push([item, at, now]), () => Date.now())
    return { queue, due }
  }

  it('hands out entries in deadline order, each once its time has come, with one timer', () => {
    const { queue, due } = fakeQueue()
    for (const [item, at] of [['c', 30], ['a', 10], ['d', 40], ['b', 20], ['a2', 10]] as const) queue.schedule(item, at)
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(9)
    expect(due).toEqual([])
    vi.advanceTimersByTime(16)
    expect(due.map(([item]) => item).sort()).toEqual(['a', 'a2', 'b'])
    expect(queue.size).toBe(2)
    vi.advanceTimersByTime(100)
    expect(due.map(([item, at]) => [item, at]).slice(3)).toEqual([['c', 30], ['d', 40]])
    for (const [, at, now] of due) expect(now).toBeGreaterThanOrEqual(at)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('re-arms for an entry earlier than the armed one', () => {
    const { queue, due } = fakeQueue()
    queue.schedule('late', 1_000)
    queue.schedule('early', 5)
    vi.advanceTimersByTime(5)
    expect(due.map(([item]) => item)).toEqual(['early'])
  })

  it('keeps heap order over many random deadlines', () => {
    const out: number[] = []
    const queue = new ExpiryQueue<number>((item) => out.push(item), () => Date.now())
    const deadlines = Array.from({ length: 500 }, () => 1 + Math.floor(Math.random() * 10_000))
    for (const d of deadlines) queue.schedule(d, d)
    vi.advanceTimersByTime(20_000)
    expect(out).toEqual([...deadlines].sort((a, b) => a - b))
  })

  it('stops on close', () => {
    const { queue, due } = fakeQueue()
    queue.schedule('x', 1)
    queue.close()
    queue.schedule('y', 0)
    vi.advanceTimersByTime(10)
    expect(due).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })
})
