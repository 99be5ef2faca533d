import { describe, expect, it, vi } from 'vitest'
import { LeaseLostError } from '../../src/errors.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import { createHarness, fakeTimerHarnesses } from '../fixtures/registry-harness.js'

const T0 = 1_000_000

const harness = fakeTimerHarnesses(T0)

const diffs = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!)

describe('heartbeats', () => {
  it('register() resolves once the backend holds the instance, as epoch 1', async () => {
    const h = harness()
    await h.registration.register()
    expect(h.backend.instances('orders')).toMatchObject([{ id: 'orders-1', address: '10.0.0.5', port: 8080, status: 'UP' }])
    expect(h.registration.state).toBe('registered')
    expect(h.registration.epoch).toBe(1)
    expect(h.registration.holdsEpoch(1)).toBe(true)
    expect(h.registration.instance).toMatchObject({ id: 'orders-1', service: 'orders' })
    expect(h.of('registry:registered')).toEqual([{ service: 'orders', instanceId: 'orders-1', epoch: 1 }])
  })

  it('renews every heartbeatIntervalMs with downward jitter', async () => {
    const randoms = [0.5, 0, 1, 0.5, 0.2]
    let i = 0
    const h = harness({ random: () => randoms[i++ % randoms.length]! })
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(30_000)
    const times = [T0, ...h.callTimes('renew')]
    // The first draw (0.5) went to the registration's own schedule: 4 750, then 5 000, 4 500, 4 750, 4 900 …
    expect(diffs(times).slice(0, 5)).toEqual([4_750, 5_000, 4_500, 4_750, 4_900])
    for (const d of diffs(times)) expect(d).toBeGreaterThanOrEqual(4_500)
    expect(h.of('registry:renewed').length).toBe(h.backend.count('renew'))
    expect(h.of('registry:renewed')[0]).toEqual({ service: 'orders', instanceId: 'orders-1', ttlMs: 15_000 })
  })

  it('never has two renewals in flight when the server is slower than the interval', async () => {
    const h = harness({ requestTimeoutMs: 10_000 })
    let inFlight = 0
    let maxInFlight = 0
    const renew = h.backend.renew.bind(h.backend)
    h.backend.renew = async (lease, ctx) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      try {
        return await renew(lease, ctx)
      } finally {
        inFlight--
      }
    }
    await h.registration.register()
    h.backend.faults.delay('renew', 6_000)
    await vi.advanceTimersByTimeAsync(70_000)
    expect(maxInFlight).toBe(1)
    const starts = h.callTimes('renew')
    expect(starts.length).toBeGreaterThanOrEqual(8)
    // Each starts a tenth of an interval after the previous answer, not on a timer that ignores it.
    for (const d of diffs(starts)) expect(d).toBeGreaterThanOrEqual(6_000 + 500)
    expect(h.of('registry:leaseLost')).toEqual([])
    expect(h.of('registry:renewFailed')).toEqual([])
  })

  it('counts failures while the server is unreachable and recovers within one interval', async () => {
    const h = harness()
    await h.registration.register()
    h.backend.setUnreachable(true)
    await vi.advanceTimersByTimeAsync(11_000)
    const failed = h.of('registry:renewFailed')
    expect(failed.length).toBeGreaterThanOrEqual(3)
    expect(failed.map((f) => f.failures)).toEqual(failed.map((_, i) => i + 1))
    expect(failed[0]!.error.code).toBe('GOV_SERVER_UNAVAILABLE')
    expect(h.registration.state).toBe('renewing-failed')
    expect(h.registration.holdsEpoch(1)).toBe(true)
    expect(h.logger.warn).toHaveBeenCalled()

    const backAt = Date.now()
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(h.registration.state).toBe('registered')
    const recovered = h.callTimes('renew').filter((t) => t >= backAt)
    expect(recovered[0]! - backAt).toBeLessThanOrEqual(5_000)
    expect(h.registration.epoch).toBe(1)
  })

  it('re-registers at once when the server has lost the instance: leaseLost, then registered', async () => {
    const h = harness()
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(4_000)
    h.backend.loseAllLeases()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(h.backend.instances('orders')).toHaveLength(1)
    const renewAt = h.callTimes('renew').at(-1)!
    expect(h.callTimes('register').at(-1)).toBe(renewAt)
    expect(h.events.filter((e) => e.name.startsWith('registry:') && e.name !== 'registry:renewed').map((e) => e.name)).toEqual([
      'registry:registered',
      'registry:leaseLost',
      'registry:registered',
    ])
    expect(h.of('registry:leaseLost')).toEqual([{ service: 'orders', instanceId: 'orders-1', epoch: 1, reason: 'server' }])
    expect(h.of('registry:registered')[1]!.epoch).toBe(2)
    expect(h.registration.holdsEpoch(1)).toBe(false)
    expect(h.registration.holdsEpoch(2)).toBe(true)
  })

  it('rate-limits re-registrations when the server keeps forgetting the instance', async () => {
    const h = harness({ heartbeatIntervalMs: 200, ttlMs: 2_000 })
    await h.registration.register()
    h.backend.faults.failNext('renew', () => new LeaseLostError('gone'), 4)
    await vi.advanceTimersByTimeAsync(5_000)
    const registers = h.callTimes('register')
    expect(registers.length).toBe(5)
    const lossRegisters = diffs(registers.slice(1))
    for (const d of lossRegisters) expect(d).toBeGreaterThanOrEqual(1_000)
    expect(h.registration.epoch).toBe(5)
    expect(h.of('registry:leaseLost').map((l) => l.epoch)).toEqual([1, 2, 3, 4])
  })

  it('ignores a listener that throws', async () => {
    const h = harness()
    const emit = h.events.push.bind(h.events)
    h.events.push = (...items) => {
      if (items[0]?.name === 'registry:renewed') throw new Error('listener bug')
      return emit(...items)
    }
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(h.backend.count('renew')).toBe(4)
    expect(h.logger.error).toHaveBeenCalledWith('a registry:renewed listener threw', expect.anything())
  })

  it('heartbeats faster when the server applied a shorter TTL than asked', async () => {
    const h = harness()
    const register = h.backend.register.bind(h.backend)
    h.backend.register = async (spec, ctx) => ({ ...(await register(spec, ctx)), ttlMs: 3_000 })
    h.backend.renew = async () => ({ ttlMs: 3_000 })
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(10_000)
    // ttl 3 000, margin cut to 1 000: renew every 1 000 ms (jitter 0.5 → 950) instead of 5 000.
    expect(h.of('registry:renewed').length).toBeGreaterThanOrEqual(10)
    expect(h.logger.warn).toHaveBeenCalledWith(expect.stringContaining('heartbeating faster'), expect.anything())
  })
})

describe('lease-loss deadline', () => {
  it('fires at ttlMs minus the margin after the last successful renewal when renewals hang', async () => {
    // Renewals hang (answer after a minute) and the call timeout is longer than the TTL.
    const h = harness({ requestTimeoutMs: 60_000 })
    await h.registration.register()
    await vi.advanceTimersByTimeAsync(4_750)
    expect(h.backend.count('renew')).toBe(1)
    const lastSuccessStart = h.callTimes('renew')[0]!
    h.backend.faults.delay('renew', 60_000)
    await vi.advanceTimersByTimeAsync(4_750) // the next renewal starts and hangs
    await vi.advanceTimersByTimeAsync(13_500 - 4_750 - 1)
    expect(h.of('registry:leaseLost')).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    const lost = h.events.find((e) => e.name === 'registry:leaseLost')!
    expect(lost.payload).toEqual({ service: 'orders', instanceId: 'orders-1', epoch: 1, reason: 'deadline' })
    // ttl 15 000 - margin 1 500, measured from the start of the last renewal that succeeded.
    expect(lost.at - lastSuccessStart).toBe(13_500)
    expect(lost.at - lastSuccessStart).toBeLessThan(15_000)
    expect(h.registration.holdsEpoch(1)).toBe(false)
    // The deadline re-registers (register is not blocked): a new epoch.
    await vi.advanceTimersByTimeAsync(0)
    expect(h.registration.state).toBe('registered')
    expect(h.registration.epoch).toBe(2)
  })

  it('fires before the server expires the instance while the server is unreachable, then recovers', async () => {
    const h = harness({ leaseSafetyMarginMs: 3_000 })
    await h.registration.register()
    h.backend.setUnreachable(true)
    await vi.advanceTimersByTimeAsync(12_000 - 1)
    expect(h.registration.state).toBe('renewing-failed')
    expect(h.of('registry:leaseLost')).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(h.registration.state).toBe('lost')
    expect(h.of('registry:leaseLost')).toEqual([{ service: 'orders', instanceId: 'orders-1', epoch: 1, reason: 'deadline' }])
    // The client gave up its claim while the server still held the instance (its TTL runs to T0 + 15 000).
    expect(h.backend.instances('orders')).toHaveLength(1)
    const failuresSoFar = h.of('registry:renewFailed').length
    await vi.advanceTimersByTimeAsync(10_000)
    expect(h.backend.instances('orders')).toHaveLength(0)
    // It keeps trying, now to register again, and reports every failure.
    expect(h.of('registry:renewFailed').length).toBeGreaterThan(failuresSoFar)
    expect(h.registration.state).toBe('lost')
    const backAt = Date.now()
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(h.callTimes('register').at(-1)! - backAt).toBeLessThanOrEqual(5_000)
    expect(h.registration.epoch).toBe(2)
    expect(h.registration.state).toBe('registered')
    expect(h.backend.instances('orders')).toHaveLength(1)
  })

  it('has no deadline with a backend whose registrations never expire', async () => {
    const backend = createMemoryBackend()
    Object.defineProperty(backend, 'capabilities', { value: { ...backend.capabilities, ttl: false } })
    const h = harness({ backend })
    await h.registration.register()
    h.backend.setUnreachable(true)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(h.of('registry:leaseLost')).toEqual([])
    expect(h.registration.state).toBe('renewing-failed')
  })
})

describe('timers', () => {
  it('the background keeps only unref\'d timers: a forgotten client never holds the process open', async () => {
    vi.useRealTimers()
    const created: NodeJS.Timeout[] = []
    const real = globalThis.setTimeout
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const t = real(fn, ms)
      created.push(t)
      return t
    }) as typeof setTimeout)
    const h = createHarness({ heartbeatIntervalMs: 20, ttlMs: 1_000, healthCheck: () => true, healthCheckIntervalMs: 20 })
    try {
      await h.registration.register()
      await vi.waitFor(() => expect(h.backend.count('renew')).toBeGreaterThanOrEqual(2), { timeout: 10_000 })
      const live = created.filter((t) => !(t as unknown as { _destroyed: boolean })._destroyed)
      expect(live.length).toBeGreaterThanOrEqual(2) // the next heartbeat, the deadline, the health check
      for (const t of live) expect(t.hasRef()).toBe(false)
    } finally {
      spy.mockRestore()
      await h.registration.close()
    }
  })
})
