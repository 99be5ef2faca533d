import { describe, expect, it, vi } from 'vitest'
import { ClientClosedError } from '../../src/errors.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { InstanceStatus } from '../../src/types.js'
import { fakeTimerHarnesses, track, type Harness } from '../fixtures/registry-harness.js'

const T0 = 1_000_000

const harness = fakeTimerHarnesses(T0)

/** Records the status of every registration the backend receives. */
function recordStatuses(h: Harness): { status: InstanceStatus; at: number }[] {
  const seen: { status: InstanceStatus; at: number }[] = []
  const register = h.backend.register.bind(h.backend)
  h.backend.register = (spec, ctx) => {
    seen.push({ status: spec.status, at: Date.now() })
    return register(spec, ctx)
  }
  return seen
}

describe('close()', () => {
  it('marks the instance DOWN, drains, then deregisters and stops every timer', async () => {
    const h = harness({ drainMs: 3_000 })
    const statuses = recordStatuses(h)
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(1_000)
    const closing = track(h.registration.close())
    expect(h.registration.state).toBe('closing')
    await vi.advanceTimersByTimeAsync(0)
    // DOWN is at the server during the drain; the instance is still listed.
    expect(statuses.map((s) => s.status)).toEqual(['UP', 'DOWN'])
    expect(h.backend.instances('orders')[0]!.status).toBe('DOWN')
    await vi.advanceTimersByTimeAsync(2_999)
    expect(h.backend.instances('orders')).toHaveLength(1)
    expect(closing.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(closing).toMatchObject({ settled: true, error: undefined })
    expect(h.backend.instances('orders')).toEqual([])
    const downAt = statuses[1]!.at
    expect(h.callTimes('deregister')[0]! - downAt).toBe(3_000)
    expect(h.registration.state).toBe('closed')
    expect(
      h.events.filter((e) => e.name === 'registry:statusChanged' || e.name === 'registry:deregistered').map((e) => [e.name, e.payload]),
    ).toEqual([
      ['registry:statusChanged', { service: 'orders', instanceId: 'orders-1', status: 'DOWN' }],
      ['registry:deregistered', { service: 'orders', instanceId: 'orders-1' }],
    ])
    expect(vi.getTimerCount()).toBe(0)
    // Nothing happens afterwards: no heartbeat, no re-registration.
    const calls = h.backend.calls.length
    await vi.advanceTimersByTimeAsync(60_000)
    expect(h.backend.calls.length).toBe(calls)
  })

  it('keeps heartbeating through a drain longer than the TTL', async () => {
    const h = harness({ drainMs: 40_000 })
    await h.registration.register()
    void h.registration.close()
    await vi.advanceTimersByTimeAsync(39_000)
    expect(h.backend.instances('orders')).toMatchObject([{ status: 'DOWN' }])
    expect(h.of('registry:leaseLost')).toEqual([])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(h.backend.instances('orders')).toEqual([])
  })

  it('is idempotent and safe to call concurrently', async () => {
    const h = harness({ drainMs: 1_000 })
    await h.registration.register()
    const a = h.registration.close()
    const b = h.registration.close()
    expect(b).toBe(a)
    const dereg = track(h.registration.deregister())
    await vi.advanceTimersByTimeAsync(1_000)
    await Promise.all([a, b])
    expect(dereg.settled).toBe(true)
    await h.registration.close()
    expect(h.backend.count('deregister')).toBe(1)
    expect(h.of('registry:deregistered')).toHaveLength(1)
  })

  it('before register() finished: the pending register() rejects with ClientClosedError; no DOWN, no drain', async () => {
    const h = harness({ drainMs: 5_000 })
    h.backend.setUnreachable(true)
    const registering = track(h.registration.register())
    await vi.advanceTimersByTimeAsync(2_000)
    const closing = track(h.registration.close())
    await vi.advanceTimersByTimeAsync(0)
    expect(registering.error).toBeInstanceOf(ClientClosedError)
    expect(closing).toMatchObject({ settled: true, error: undefined })
    expect(h.registration.state).toBe('closed')
    expect(h.of('registry:statusChanged')).toEqual([])
    expect(h.backend.count('deregister')).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('cancels a register() whose call is in flight', async () => {
    const h = harness()
    h.backend.faults.delay('register', 1_000)
    const registering = track(h.registration.register())
    await vi.advanceTimersByTimeAsync(10)
    await h.registration.close()
    expect(registering.error).toBeInstanceOf(ClientClosedError)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('with a background registration still trying', async () => {
    const h = harness()
    h.backend.setUnreachable(true)
    await h.registration.register({ wait: false })
    await vi.advanceTimersByTimeAsync(2_000)
    await h.registration.close()
    expect(vi.getTimerCount()).toBe(0)
    const calls = h.backend.calls.length
    await vi.advanceTimersByTimeAsync(30_000)
    expect(h.backend.calls.length).toBe(calls)
  })

  it('before register() was ever called makes no call', async () => {
    const h = harness()
    await h.registration.close()
    expect(h.backend.calls).toEqual([])
    expect(h.registration.state).toBe('closed')
  })

  it('does not wait for a hanging heartbeat before marking DOWN', async () => {
    const h = harness({ requestTimeoutMs: 60_000 })
    const statuses = recordStatuses(h)
    await h.registration.register()
    h.backend.faults.delay('renew', 50_000)
    await vi.advanceTimersByTimeAsync(5_000) // a heartbeat is now hanging
    h.backend.faults.delay('renew', 0)
    const closing = track(h.registration.close())
    await vi.advanceTimersByTimeAsync(0)
    expect(statuses.map((s) => s.status)).toEqual(['UP', 'DOWN'])
    expect(closing.settled).toBe(true)
  })

  it('never throws when the server is gone: one attempt each, bounded by the request timeout', async () => {
    const h = harness({ drainMs: 1_000, requestTimeoutMs: 2_000 })
    await h.registration.register()
    h.backend.faults.delay('*', 10_000)
    const closing = track(h.registration.close())
    // renew-before-DOWN times out (2 s), drain (1 s), deregister times out (2 s).
    await vi.advanceTimersByTimeAsync(5_000)
    expect(closing).toMatchObject({ settled: true, error: undefined })
    expect(h.logger.warn).toHaveBeenCalledWith('could not mark the instance DOWN before draining', expect.anything())
    expect(h.logger.warn).toHaveBeenCalledWith(expect.stringContaining('deregister failed'), expect.anything())
    expect(h.of('registry:deregistered')).toEqual([])
    // The one timer left is the memory server's own lease expiry for the undeleted instance.
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(h.backend.instances('orders')).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('deregisters a lease lost at the deadline (the server may still hold it) without re-registering', async () => {
    const h = harness()
    await h.registration.register()
    h.backend.setUnreachable(true)
    await vi.advanceTimersByTimeAsync(14_000)
    expect(h.registration.state).toBe('lost')
    h.backend.setUnreachable(false)
    const registers = h.backend.count('register')
    await h.registration.close()
    expect(h.backend.count('deregister')).toBe(1)
    expect(h.backend.count('register')).toBe(registers)
  })

  it('logs once and skips deregistration when the backend cannot deregister', async () => {
    const backend = createMemoryBackend()
    Object.defineProperty(backend, 'capabilities', { value: { ...backend.capabilities, deregister: false } })
    const h = harness({ backend })
    await h.registration.register()
    await h.registration.deregister()
    await h.registration.register()
    await h.registration.close()
    expect(h.backend.count('deregister')).toBe(0)
    expect(h.logger.info.mock.calls.filter(([m]) => String(m).includes('cannot deregister'))).toHaveLength(1)
  })

  it('is what Symbol.asyncDispose does', async () => {
    const h = harness()
    await h.registration.register()
    await h.registration[Symbol.asyncDispose]()
    expect(h.registration.state).toBe('closed')
    expect(h.backend.instances('orders')).toEqual([])
  })
})
