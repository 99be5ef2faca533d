import { describe, expect, it, vi } from 'vitest'
import type { CallContext } from '../../src/backend.js'
import { AuthError, ClientClosedError, InvalidArgumentError, LeaseLostError, TimeoutError } from '../../src/errors.js'
import { createRegistration, resolveRegistryOptions } from '../../src/registry/index.js'
import { systemClock } from '../../src/internal/timers.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { InstanceChange, InstanceStatus, Lease } from '../../src/types.js'
import { fakeTimerHarnesses, SERVICE, track, type Harness } from '../fixtures/registry-harness.js'

const T0 = 1_000_000

const harness = fakeTimerHarnesses(T0)

describe('register()', () => {
  it('needs the service option', async () => {
    const ctx = { backend: createMemoryBackend(), emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000 }
    const registration = createRegistration(resolveRegistryOptions({}), ctx)
    await expect(registration.register()).rejects.toThrow(new InvalidArgumentError('register() needs the `service` option'))
    await expect(registration.setStatus('DOWN')).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(registration.instanceId).toMatch(/^client-[0-9a-f]{12}$/)
    await registration.close()
  })

  it('keeps one generated instance id for the life of the client', async () => {
    const h = harness({ service: { name: 'orders', port: 8080, address: '10.0.0.5' } })
    const id = h.registration.instanceId
    expect(id).toMatch(/^orders-[0-9a-f]{12}$/)
    await h.registration.register()
    await h.registration.deregister()
    await h.registration.register()
    expect(h.registration.instanceId).toBe(id)
    expect(h.backend.instances('orders').map((i) => i.id)).toEqual([id])
    expect(h.registration.epoch).toBe(2)
  })

  it('retries with backoff while the server is down at startup and resolves when it comes up', async () => {
    const h = harness()
    h.backend.setUnreachable(true)
    const result = track(h.registration.register())
    expect(h.registration.state).toBe('registering')
    await vi.advanceTimersByTimeAsync(3_000)
    expect(result.settled).toBe(false)
    const attempts = h.backend.count('register')
    expect(attempts).toBeGreaterThanOrEqual(3)
    expect(attempts).toBeLessThan(30)
    expect(h.of('registry:renewFailed').map((f) => f.failures)).toEqual(Array.from({ length: attempts }, (_, i) => i + 1))
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(result).toMatchObject({ settled: true, error: undefined })
    expect(result.at! - (T0 + 3_000)).toBeLessThanOrEqual(5_000)
    expect(h.registration.state).toBe('registered')
  })

  it('rejects after registerTimeoutMs with a clear error and stops trying', async () => {
    const h = harness({ registerTimeoutMs: 10_000 })
    h.backend.setUnreachable(true)
    const result = track(h.registration.register())
    await vi.advanceTimersByTimeAsync(10_000 - 1)
    expect(result.settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(result.error).toBeInstanceOf(TimeoutError)
    const error = result.error as TimeoutError
    expect(error.message).toMatch(/register\(\) did not complete within 10000 ms: the server has not accepted orders\/orders-1 \(last error: .*unreachable/)
    expect(error.cause).toBeDefined()
    expect(h.registration.state).toBe('idle')
    const attempts = h.backend.count('register')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(h.backend.count('register')).toBe(attempts)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('can be called again at once after giving up, and then runs one loop', async () => {
    const h = harness({ registerTimeoutMs: 1_000 })
    h.backend.setUnreachable(true)
    const first = h.registration.register().catch((error: unknown) => error)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await first).toBeInstanceOf(TimeoutError)
    h.backend.setUnreachable(false)
    await h.registration.register()
    expect(h.registration.state).toBe('registered')
    const before = h.backend.count('renew')
    await vi.advanceTimersByTimeAsync(20_000)
    expect(h.registration.state).toBe('registered')
    expect(h.backend.count('renew') - before).toBe(4)
  })

  it('with { wait: false } returns at once and registers in the background, with no timeout', async () => {
    const h = harness({ registerTimeoutMs: 10_000 })
    h.backend.setUnreachable(true)
    await h.registration.register({ wait: false })
    expect(h.registration.state).toBe('registering')
    await vi.advanceTimersByTimeAsync(40_000)
    expect(h.registration.state).toBe('registering')
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(h.registration.state).toBe('registered')
    expect(h.backend.instances('orders')).toHaveLength(1)
    expect(h.of('registry:registered')).toHaveLength(1)
  })

  it('a waiting register() joining a background one shares it; wait: false makes a waiting one unbounded', async () => {
    const h = harness({ registerTimeoutMs: 10_000 })
    h.backend.setUnreachable(true)
    const waiting = track(h.registration.register())
    await h.registration.register({ wait: false })
    await vi.advanceTimersByTimeAsync(10_000)
    expect(waiting.error).toBeInstanceOf(TimeoutError)
    // The background registration goes on.
    expect(h.registration.state).toBe('registering')
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(h.registration.state).toBe('registered')
  })

  it('fails fast when the server refuses the registration', async () => {
    const h = harness()
    h.backend.faults.failNext('register', new AuthError('token refused', { status: 401 }))
    await expect(h.registration.register()).rejects.toBeInstanceOf(AuthError)
    expect(h.registration.state).toBe('idle')
    expect(h.logger.error).toHaveBeenCalled()
    await h.registration.register()
    expect(h.registration.state).toBe('registered')
  })

  it('shares one registration between concurrent callers and resolves at once when registered', async () => {
    const h = harness()
    h.backend.faults.delay('register', 100)
    const a = track(h.registration.register())
    const b = track(h.registration.register())
    await vi.advanceTimersByTimeAsync(100)
    expect(a).toMatchObject({ settled: true, error: undefined })
    expect(b).toMatchObject({ settled: true, error: undefined })
    await h.registration.register()
    expect(h.backend.count('register')).toBe(1)
  })

  it('rejects with the abort reason when its signal aborts, and stops if nobody else waits', async () => {
    const h = harness()
    h.backend.setUnreachable(true)
    const controller = new AbortController()
    const result = track(h.registration.register({ signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(1_000)
    const reason = new Error('stop')
    controller.abort(reason)
    await vi.advanceTimersByTimeAsync(0)
    expect(result.error).toBe(reason)
    expect(h.registration.state).toBe('idle')
    await expect(h.registration.register({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })
})

describe('setStatus()', () => {
  it('reaches the server without a new epoch', async () => {
    const h = harness()
    await h.registration.register()
    await h.registration.setStatus('OUT_OF_SERVICE')
    expect(h.backend.instances('orders')[0]!.status).toBe('OUT_OF_SERVICE')
    expect(h.registration.status).toBe('OUT_OF_SERVICE')
    expect(h.registration.instance?.status).toBe('OUT_OF_SERVICE')
    expect(h.registration.epoch).toBe(1)
    expect(h.of('registry:statusChanged')).toEqual([{ service: 'orders', instanceId: 'orders-1', status: 'OUT_OF_SERVICE' }])
    // It renewed first (to notice a lost lease), then upserted.
    expect(h.backend.calls.map((c) => c.op)).toEqual(['register', 'renew', 'register'])
    await h.registration.setStatus('OUT_OF_SERVICE')
    expect(h.backend.count('register')).toBe(2)
  })

  it('goes through backend.update() when the backend has it, keeping the lease', async () => {
    const h = harness()
    const updates: unknown[][] = []
    const register = h.backend.register.bind(h.backend)
    Object.assign(h.backend, {
      update: async (lease: Lease, change: InstanceChange, ctx: CallContext) => {
        updates.push([lease.id, change])
        const { name: service, ...rest } = SERVICE
        const spec = { ...rest, service, metadata: {}, tags: [], weight: 1, ttlMs: lease.ttlMs, status: change.status ?? 'UP' }
        await register(spec, ctx)
        return lease
      },
    })
    await h.registration.register()
    const epoch = h.registration.epoch
    await h.registration.setStatus('OUT_OF_SERVICE')
    expect(updates).toEqual([[expect.any(String), { status: 'OUT_OF_SERVICE', weight: 1 }]])
    // The second register is the stub's own write into the memory store; the keeper sent an update.
    expect(h.backend.calls.map((c) => c.op)).toEqual(['register', 'renew', 'register'])
    expect(h.registration.epoch).toBe(epoch)
    expect(h.registration.status).toBe('OUT_OF_SERVICE')
  })

  it('an update() that finds the lease lost re-registers with a new epoch', async () => {
    const h = harness()
    let fail = true
    Object.assign(h.backend, {
      update: async (lease: Lease) => {
        if (fail) {
          fail = false
          throw new LeaseLostError('gone')
        }
        return lease
      },
    })
    await h.registration.register()
    const result = track(h.registration.setStatus('DOWN'))
    await vi.advanceTimersByTimeAsync(5_000)
    expect(result).toMatchObject({ settled: true, error: undefined })
    expect(h.registration.epoch).toBe(2)
    expect(h.of('registry:leaseLost')).toHaveLength(1)
    expect(h.backend.instances('orders')[0]!.status).toBe('DOWN')
  })

  it('rejects an unknown status naming it', async () => {
    const h = harness()
    await expect(h.registration.setStatus('up' as InstanceStatus)).rejects.toThrow(/status must be one of STARTING, UP, DOWN, OUT_OF_SERVICE, got "up"/)
  })

  it('before register() only sets what the registration will carry', async () => {
    const h = harness({ service: { ...SERVICE, status: 'STARTING' } })
    await h.registration.setStatus('OUT_OF_SERVICE')
    expect(h.backend.calls).toEqual([])
    await h.registration.register()
    expect(h.backend.instances('orders')[0]!.status).toBe('OUT_OF_SERVICE')
  })

  it('registers with service.status and moves on when told', async () => {
    const h = harness({ service: { ...SERVICE, status: 'STARTING' } })
    await h.registration.register()
    expect(h.backend.instances('orders')[0]!.status).toBe('STARTING')
    await h.registration.setStatus('UP')
    expect(h.backend.instances('orders')[0]!.status).toBe('UP')
  })

  it('waits out an outage and lands when the server returns', async () => {
    const h = harness()
    await h.registration.register()
    h.backend.setUnreachable(true)
    const result = track(h.registration.setStatus('DOWN'))
    await vi.advanceTimersByTimeAsync(8_000)
    expect(result.settled).toBe(false)
    h.backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(result).toMatchObject({ settled: true, error: undefined })
    expect(h.backend.instances('orders')[0]!.status).toBe('DOWN')
  })

  it('re-registers with the new status, as a new epoch, when the server lost the instance', async () => {
    const h = harness()
    await h.registration.register()
    h.backend.loseAllLeases()
    await h.registration.setStatus('OUT_OF_SERVICE')
    expect(h.backend.instances('orders')[0]!.status).toBe('OUT_OF_SERVICE')
    expect(h.registration.epoch).toBe(2)
    expect(h.of('registry:leaseLost')).toEqual([{ service: 'orders', instanceId: 'orders-1', epoch: 1, reason: 'server' }])
  })
})

describe('health check', () => {
  async function withCheck(answers: (() => unknown)[], intervalMs = 1_000): Promise<Harness> {
    let i = 0
    const healthCheck = vi.fn(() => answers[Math.min(i++, answers.length - 1)]!()) as never
    const h = harness({ healthCheck, healthCheckIntervalMs: intervalMs })
    await h.registration.register()
    return h
  }

  it('runs before the first registration, so an unhealthy instance is never listed UP', async () => {
    const h = await withCheck([() => false, () => true])
    expect(h.backend.instances('orders')[0]!.status).toBe('DOWN')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(h.backend.instances('orders')[0]!.status).toBe('UP')
    expect(h.of('registry:statusChanged').map((s) => s.status)).toEqual(['DOWN', 'UP'])
  })

  it('treats a throw, a hang and nonsense as DOWN and a status string as itself', async () => {
    const h = await withCheck([
      () => 'OUT_OF_SERVICE',
      () => {
        throw new Error('db down')
      },
      () => true,
      () => new Promise(() => {}),
      () => true,
      () => 42,
    ])
    const seen: InstanceStatus[] = [h.backend.instances('orders')[0]!.status]
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000)
      seen.push(h.backend.instances('orders')[0]!.status)
    }
    // The hanging check takes its full interval (the timeout) before counting as DOWN.
    await vi.advanceTimersByTimeAsync(1_000)
    seen.push(h.backend.instances('orders')[0]!.status)
    expect(seen).toEqual(['OUT_OF_SERVICE', 'DOWN', 'UP', 'UP', 'DOWN', 'UP', 'DOWN'])
    expect(h.logger.warn).toHaveBeenCalledWith(expect.stringContaining('threw'), expect.anything())
    expect(h.logger.warn).toHaveBeenCalledWith(expect.stringContaining('did not answer within 1000 ms'), expect.anything())
  })

  it('combines with setStatus(): a non-UP status set by the application wins, UP defers to the check', async () => {
    let healthy = true
    const h = harness({ healthCheck: () => healthy, healthCheckIntervalMs: 1_000 })
    await h.registration.register()
    await h.registration.setStatus('OUT_OF_SERVICE')
    healthy = false
    await vi.advanceTimersByTimeAsync(1_000)
    expect(h.registration.status).toBe('OUT_OF_SERVICE')
    await h.registration.setStatus('UP')
    expect(h.registration.status).toBe('DOWN')
    healthy = true
    await vi.advanceTimersByTimeAsync(1_000)
    expect(h.backend.instances('orders')[0]!.status).toBe('UP')
  })

  it('stops checking after deregister()', async () => {
    const check = vi.fn(() => true)
    const h = harness({ healthCheck: check, healthCheckIntervalMs: 1_000 })
    await h.registration.register()
    await h.registration.deregister()
    const calls = check.mock.calls.length
    await vi.advanceTimersByTimeAsync(10_000)
    expect(check.mock.calls.length).toBe(calls)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('deregister()', () => {
  it('removes the instance, stops the loop and allows a new registration as a new epoch', async () => {
    const h = harness()
    await h.registration.register()
    await h.registration.deregister()
    expect(h.backend.instances('orders')).toEqual([])
    expect(h.registration.state).toBe('idle')
    expect(h.registration.holdsEpoch(1)).toBe(false)
    expect(h.of('registry:deregistered')).toEqual([{ service: 'orders', instanceId: 'orders-1' }])
    expect(vi.getTimerCount()).toBe(0)
    await h.registration.deregister()
    expect(h.backend.count('deregister')).toBe(1)
    await h.registration.register()
    expect(h.registration.epoch).toBe(2)
  })

  it('rejects when the server cannot be reached, and close() tries again', async () => {
    const h = harness()
    await h.registration.register()
    h.backend.setUnreachable(true)
    await expect(h.registration.deregister()).rejects.toMatchObject({ code: 'GOV_SERVER_UNAVAILABLE' })
    h.backend.setUnreachable(false)
    await h.registration.close()
    expect(h.backend.instances('orders')).toEqual([])
    expect(h.backend.count('deregister')).toBe(2)
  })

  it('goes after a register() still waiting', async () => {
    const h = harness()
    h.backend.faults.delay('register', 500)
    const registering = track(h.registration.register())
    const deregistering = track(h.registration.deregister())
    await vi.advanceTimersByTimeAsync(500)
    expect(registering).toMatchObject({ settled: true, error: undefined })
    expect(deregistering).toMatchObject({ settled: true, error: undefined })
    expect(h.backend.instances('orders')).toEqual([])
  })

  it('register() after close() is refused', async () => {
    const h = harness()
    await h.registration.close()
    await expect(h.registration.register()).rejects.toBeInstanceOf(ClientClosedError)
    await expect(h.registration.setStatus('UP')).rejects.toBeInstanceOf(ClientClosedError)
    await h.registration.deregister()
  })
})
