import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CallContext } from '../../src/backend.js'
import { ClientClosedError, ServerUnavailableError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { IDLE, enter, failed, hold, keeperStatus, lose, reschedule, startRegistering, type KeeperStatus } from '../../src/registry/keeper-state.js'
import { LeaseKeeper } from '../../src/registry/lease-keeper.js'
import { IDLE_PHASE, enterPhase } from '../../src/registry/registration-phase.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import type { InstanceChange, InstanceSpec, InstanceStatus, Lease } from '../../src/types.js'
import { fakeTimerHarnesses, track } from '../fixtures/registry-harness.js'

const T0 = 1_000_000
const LEASE: Lease = { id: 'l-1', service: 'orders', instanceId: 'orders-1', ttlMs: 15_000 }
const INSTANCE = { id: 'orders-1', service: 'orders', address: '10.0.0.5', port: 8080, status: 'UP' as const, metadata: {}, tags: [], weight: 1 }
const unavailable = new ServerUnavailableError('down')

describe('keeper states', () => {
  it('a run starts registering, due at once, with no failures', () => {
    expect(startRegistering(IDLE, 5)).toEqual({ kind: 'registering', nextAt: 5, failures: 0, lastError: undefined })
  })

  it('a failure keeps the kind and counts; a success holds the lease and ends the streak', () => {
    const once = failed(startRegistering(IDLE, 0), unavailable, 100)
    const twice = failed(once, unavailable, 300)
    expect(twice).toMatchObject({ kind: 'registering', failures: 2, lastError: unavailable, nextAt: 300 })
    const held = hold(twice, LEASE, INSTANCE, 5_000)
    expect(held).toEqual({ kind: 'held', lease: LEASE, instance: INSTANCE, nextAt: 5_000, failures: 0, lastError: undefined })
    expect(keeperStatus(held)).toBe('registered')
    expect(keeperStatus(failed(held, unavailable, 6_000))).toBe('renewing-failed')
  })

  it('a loss the server reports restarts the backoff; a passed deadline keeps counting', () => {
    const failing = failed(failed(hold(startRegistering(IDLE, 0), LEASE, INSTANCE, 0), unavailable, 1), unavailable, 2)
    expect(lose(failing, 'server', 10, 1_000)).toEqual({ kind: 'lost', since: 10, reason: 'server', nextAt: 1_000, failures: 0, lastError: unavailable })
    expect(lose(failing, 'deadline', 10, 10)).toMatchObject({ kind: 'lost', reason: 'deadline', failures: 2, lastError: unavailable })
    expect(keeperStatus(lose(failing, 'server', 10, 10))).toBe('lost')
    expect(reschedule(failing, 42)).toEqual({ ...failing, nextAt: 42 })
  })

  it('refuses the transitions the table does not allow', () => {
    const registering = startRegistering(IDLE, 0)
    const held = hold(registering, LEASE, INSTANCE, 0)
    const lost = lose(held, 'server', 0, 0)
    expect(() => enter(IDLE, held)).toThrow(/no transition from idle to held/)
    expect(() => enter(IDLE, lost)).toThrow(/no transition from idle to lost/)
    expect(() => enter(registering, lost)).toThrow(/no transition from registering to lost/)
    expect(() => enter(held, registering)).toThrow(/no transition from held to registering/)
    expect(() => enter(lost, registering)).toThrow(/no transition from lost to registering/)
    expect(() => enter(IDLE, IDLE)).toThrow(/no transition from idle to idle/)
    for (const [from, to] of [
      [IDLE, registering],
      [registering, held],
      [held, lost],
      [lost, held],
      [held, IDLE],
      [lost, IDLE],
    ] as const) {
      expect(enter(from, to)).toBe(to)
    }
    // And the transitions take only the kinds they apply to: these do not compile.
    // @ts-expect-error only a held lease can be lost
    expect(() => lose(registering, 'server', 0, 0)).not.toThrow()
    // @ts-expect-error a run starts only from idle
    expect(() => startRegistering(held, 0)).not.toThrow()
  })
})

describe('registration phases', () => {
  const active = { kind: 'active', run: 1, bounded: true } as const
  const closing = { kind: 'closing', markingDown: false } as const

  it('refuses to leave closed, to reopen while closing, or to close without closing', () => {
    expect(() => enterPhase({ kind: 'closed' }, IDLE_PHASE)).toThrow(/no transition from closed to idle/)
    expect(() => enterPhase({ kind: 'closed' }, closing)).toThrow(/no transition from closed to closing/)
    expect(() => enterPhase(closing, active)).toThrow(/no transition from closing to active/)
    expect(() => enterPhase(closing, IDLE_PHASE)).toThrow(/no transition from closing to idle/)
    expect(() => enterPhase(IDLE_PHASE, { kind: 'closed' })).toThrow(/no transition from idle to closed/)
    expect(enterPhase(IDLE_PHASE, active)).toBe(active)
    expect(enterPhase(active, closing)).toBe(closing)
  })
})

function spec(status: InstanceStatus): InstanceSpec {
  return { ...INSTANCE, status, ttlMs: 15_000 }
}

/** A keeper on a memory backend, recording its status at every change it reports. */
function keeperOn(backend: MemoryBackend, status: { value: InstanceStatus; version: number }) {
  const seen: KeeperStatus[] = []
  const keeper: LeaseKeeper = new LeaseKeeper({
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 2_000,
    intervalMs: 5_000,
    marginMs: 1_000,
    deadline: true,
    random: () => 0.5,
    service: 'orders',
    instanceId: 'orders-1',
    host: { spec: () => spec(status.value), statusVersion: () => status.version, changed: () => void seen.push(keeperStatus(keeper.state)) },
  })
  return { keeper, seen }
}

describe('LeaseKeeper transitions', () => {
  let stop: (() => Promise<void>) | undefined
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
  })
  afterEach(async () => {
    await stop?.()
    stop = undefined
    vi.useRealTimers()
  })
  /** A keeper that afterEach stops. */
  const keeperFor = (backend: MemoryBackend, status = { value: 'UP' as InstanceStatus, version: 0 }): ReturnType<typeof keeperOn> => {
    const made = keeperOn(backend, status)
    stop = () => made.keeper.stop()
    return made
  }

  it('a lost lease goes held → lost → held again, with a new lease and epoch', async () => {
    const backend = createMemoryBackend()
    const { keeper, seen } = keeperFor(backend)
    keeper.start()
    expect(keeper.state.kind).toBe('registering')
    await vi.advanceTimersByTimeAsync(10)
    const first = keeper.lease
    expect(keeper.state).toMatchObject({ kind: 'held', lease: first, failures: 0 })
    backend.loseAllLeases()
    await vi.advanceTimersByTimeAsync(5_000)
    expect(seen).toContain('lost')
    expect(seen.slice(seen.indexOf('lost'))).toContain('registered')
    expect(keeper.state.kind).toBe('held')
    expect(keeper.lease).not.toBe(first)
    expect(keeper.lastLease).toBe(keeper.lease)
    expect(keeper.epoch).toBe(2)
  })

  it('after stopReregistering() a lost lease stays lost and nothing is registered', async () => {
    const backend = createMemoryBackend()
    const { keeper } = keeperFor(backend)
    keeper.start()
    await vi.advanceTimersByTimeAsync(10)
    keeper.stopReregistering()
    backend.loseAllLeases()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(keeper.state).toMatchObject({ kind: 'lost', reason: 'server' })
    expect(keeper.lease).toBeUndefined()
    expect(backend.count('register')).toBe(1)
  })

  it('stop() while registering is idle at once, and the next start() forgets the failures', async () => {
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { keeper } = keeperFor(backend)
    keeper.start()
    await vi.advanceTimersByTimeAsync(3_000)
    expect(keeper.state).toMatchObject({ kind: 'registering' })
    expect(keeper.state.kind === 'registering' && keeper.state.failures).toBeGreaterThan(0)
    const stopped = keeper.stop()
    expect(keeper.state).toEqual({ kind: 'idle' })
    expect(keeper.running).toBe(false)
    await stopped
    backend.setUnreachable(false)
    keeper.start()
    expect(keeper.state).toMatchObject({ kind: 'registering', failures: 0, lastError: undefined })
    await vi.advanceTimersByTimeAsync(10)
    expect(keeper.state.kind).toBe('held')
  })

  it('a status change through update() keeps the lease, the epoch and the held state', async () => {
    const backend = createMemoryBackend()
    const changes: InstanceChange[] = []
    Object.assign(backend, {
      update: async (lease: Lease, change: InstanceChange, _ctx: CallContext) => {
        changes.push(change)
        return lease
      },
    })
    const status = { value: 'UP' as InstanceStatus, version: 0 }
    const { keeper, seen } = keeperFor(backend, status)
    keeper.start()
    await vi.advanceTimersByTimeAsync(10)
    const lease = keeper.lease
    status.value = 'OUT_OF_SERVICE'
    status.version = 1
    keeper.wake()
    await vi.advanceTimersByTimeAsync(10)
    expect(changes).toEqual([{ status: 'OUT_OF_SERVICE', weight: 1 }])
    expect(keeper.appliedStatusVersion).toBe(1)
    expect(keeper.lease).toBe(lease)
    expect(keeper.epoch).toBe(1)
    expect(keeper.instance?.status).toBe('OUT_OF_SERVICE')
    expect(seen).not.toContain('lost')
    expect(backend.count('register')).toBe(1)
  })

  it('pushNow() without a held lease answers false and starts nothing', async () => {
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { keeper } = keeperFor(backend)
    expect(await keeper.pushNow()).toBe(false)
    keeper.start()
    expect(await keeper.pushNow()).toBe(false)
  })
})

const harness = fakeTimerHarnesses(T0)

describe('Registration phases through the API', () => {
  it('close() during the first registration: closing at once, the waiter rejected, closed, no call after', async () => {
    const h = harness()
    h.backend.setUnreachable(true)
    const registering = track(h.registration.register())
    await vi.advanceTimersByTimeAsync(1_500)
    expect(h.registration.state).toBe('registering')
    const closing = track(h.registration.close())
    expect(h.registration.state).toBe('closing')
    await vi.advanceTimersByTimeAsync(100)
    expect(registering.error).toBeInstanceOf(ClientClosedError)
    expect(closing).toMatchObject({ settled: true, error: undefined })
    expect(h.registration.state).toBe('closed')
    const calls = h.backend.calls.length
    await vi.advanceTimersByTimeAsync(30_000)
    expect(h.backend.calls.length).toBe(calls)
    expect(h.backend.count('deregister')).toBe(0)
    await expect(h.registration.register()).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('a health check still running when close() comes never starts the loop', async () => {
    let answer: (status: InstanceStatus) => void = () => {}
    const h = harness({ healthCheck: () => new Promise<InstanceStatus>((resolve) => (answer = resolve)) })
    await h.registration.register({ wait: false })
    expect(h.registration.state).toBe('registering')
    const closing = track(h.registration.close())
    answer('UP')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(closing.settled).toBe(true)
    expect(h.backend.calls).toEqual([])
  })

  it('deregister() during the health check: its late answer starts nothing; a new register() does', async () => {
    const answers: ((status: InstanceStatus) => void)[] = []
    const h = harness({ healthCheck: () => new Promise<InstanceStatus>((resolve) => answers.push(resolve)) })
    await h.registration.register({ wait: false })
    await h.registration.deregister()
    expect(h.registration.state).toBe('idle')
    answers.shift()!('UP')
    await vi.advanceTimersByTimeAsync(100)
    expect(h.registration.state).toBe('idle')
    expect(h.backend.calls).toEqual([])
    await h.registration.register({ wait: false })
    for (const answer of answers) answer('UP')
    await vi.advanceTimersByTimeAsync(100)
    expect(h.registration.state).toBe('registered')
    expect(h.backend.count('register')).toBe(1)
    expect(h.registration.epoch).toBe(1)
  })
})
