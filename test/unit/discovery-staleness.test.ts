/** Discovery's staleness contract: outages (stale-if-error), polling, empty protection, snapshots on disk. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ServerUnavailableError, isGovernanceError } from '../../src/errors.js'
import { createMemoryBackend, createTestRegistry } from '../../src/testing/index.js'
import { add, inst, open, scripted, setup, withoutWatch, fakeTimersPerTest } from '../fixtures/scripted-discovery-backend.js'

fakeTimersPerTest()

describe('outages: stale-if-error', () => {
  it('serves the last snapshot from memory, emits discovery:stale once, then fails after staleIfErrorMs', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery, of } = setup({ staleIfErrorMs: 60_000, recoveryBackoff: { minDelayMs: 100, maxDelayMs: 1_000 } }, backend)
    await discovery.discover('pay')
    backend.setUnreachable(true)
    let list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['a1'])
    expect(list.source).toBe('memory')
    await vi.advanceTimersByTimeAsync(10_000)
    list = await discovery.discover('pay')
    expect(list.ageMs).toBe(10_000)
    expect(discovery.pickSync('pay')?.id).toBe('a1')
    expect(of('discovery:stale')).toHaveLength(1)
    expect(of('discovery:stale')[0]).toMatchObject({ service: 'pay', ageMs: 0 })
    expect(isGovernanceError(of('discovery:stale')[0]!.error)).toBe(true)
    await vi.advanceTimersByTimeAsync(51_000)
    await expect(discovery.discover('pay')).rejects.toBeInstanceOf(ServerUnavailableError)
    expect(discovery.pickSync('pay')).toBeUndefined()
    expect(of('discovery:stale')).toHaveLength(1)
  })

  it('after the outage the new instance set arrives by itself, with the right diff', async () => {
    const backend = createMemoryBackend({ confirmIntervalMs: 500 })
    add(backend, 'a1')
    add(backend, 'a2')
    const { discovery, of } = setup({ minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 100, maxDelayMs: 1_000 } }, backend)
    await discovery.discover('pay')
    backend.setUnreachable(true)
    await vi.advanceTimersByTimeAsync(5_000)
    // While unreachable, the "server" restarts with another set.
    backend.removeInstance('pay', 'a1')
    add(backend, 'a3')
    backend.resetIndex()
    backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(2_000)
    const list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['a2', 'a3'])
    expect(list.source).toBe('live')
    // Counted from the last confirmation (the backend confirms every 500 ms), not from the change.
    expect(list.ageMs).toBeLessThanOrEqual(500)
    const changed = of('discovery:changed')
    expect(changed).toHaveLength(1)
    expect(changed[0]!.diff.added.map((i) => i.id)).toEqual(['a3'])
    expect(changed[0]!.diff.removed.map((i) => i.id)).toEqual(['a1'])
    expect(changed[0]!.reset).toBe(true)
    expect(of('discovery:recovered')).toEqual([{ service: 'pay' }])
    // Watching again: a later change arrives without asking.
    add(backend, 'a4')
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['a2', 'a3', 'a4'])
  })

  it('re-lists after a broken watch: a lower index is a replacement, and the watch resumes after it', async () => {
    const { backend, script } = scripted({ service: 'pay', revision: '44', instances: [inst('a'), inst('b')] })
    const { discovery, of } = setup({ minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 10, maxDelayMs: 10 } }, backend)
    await discovery.discover('pay')
    script.failResolve = true
    script.break()
    await vi.advanceTimersByTimeAsync(100)
    script.state = { service: 'pay', revision: '3', instances: [inst('b'), inst('c')] }
    script.failResolve = false
    await vi.advanceTimersByTimeAsync(20)
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['b', 'c'])
    expect(of('discovery:changed')[0]).toMatchObject({ reset: true, revision: '3' })
    expect(script.watches).toEqual(['44', '3'])
  })

  it('fails a cold lookup when the server is down and nothing is stored, and recovers later', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    backend.setUnreachable(true)
    const { discovery } = setup({ recoveryBackoff: { minDelayMs: 100, maxDelayMs: 100 } }, backend)
    await expect(discovery.discover('pay')).rejects.toBeInstanceOf(ServerUnavailableError)
    // A burst of calls during the outage does not hammer the server.
    const before = backend.count('resolve')
    await Promise.allSettled(Array.from({ length: 10 }, () => discovery.discover('pay')))
    expect(backend.count('resolve')).toBe(before)
    backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(200)
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['a1'])
  })
})

describe('polling fallback (backend without watchService)', () => {
  it('polls, tells the age since the last poll, and honours maxStalenessMs per call', async () => {
    const memory = createTestRegistry()
    add(memory, 'a1')
    const { discovery } = setup({ pollIntervalMs: 5_000 }, withoutWatch(memory))
    await discovery.discover('pay')
    add(memory, 'a2')
    expect((await discovery.discover('pay')).length).toBe(1)
    await vi.advanceTimersByTimeAsync(5_000)
    expect((await discovery.discover('pay')).length).toBe(2)
    await vi.advanceTimersByTimeAsync(3_000)
    const aged = await discovery.discover('pay')
    expect(aged.ageMs).toBe(3_000)
    expect(aged.source).toBe('live')
    const resolves = memory.count('resolve')
    const fresh = await discovery.discover('pay', { maxStalenessMs: 1_000 })
    expect(memory.count('resolve')).toBe(resolves + 1)
    expect(fresh.ageMs).toBe(0)
  })

  it('refreshes ahead of expiry in the background instead of making the caller wait', async () => {
    const memory = createTestRegistry()
    add(memory, 'a1')
    const { discovery } = setup({ pollIntervalMs: 60_000, maxStalenessMs: 10_000, refreshAheadMs: 2_000 }, withoutWatch(memory))
    await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(7_000)
    await discovery.discover('pay')
    expect(memory.count('resolve')).toBe(1)
    memory.faults.delay('resolve', 500)
    await vi.advanceTimersByTimeAsync(1_100) // past maxStalenessMs - refreshAheadMs: the probe runs
    expect(memory.count('resolve')).toBe(2)
    const answer = await discovery.discover('pay') // answered at once while the probe is in flight
    expect(answer.ageMs).toBe(8_100)
    expect(answer.source).toBe('live')
    await vi.advanceTimersByTimeAsync(500)
    expect((await discovery.discover('pay')).ageMs).toBe(100)
    expect(memory.count('resolve')).toBe(2)
  })
})

describe('empty protection', () => {
  it('holds the last set for at most holdMs after a mass expiry, and says so', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    add(backend, 'a2')
    const { discovery, of } = setup({ emptyProtection: { holdMs: 30_000 }, minNotifyIntervalMs: 0 }, backend)
    await discovery.discover('pay')
    backend.removeInstance('pay', 'a1')
    backend.removeInstance('pay', 'a2')
    // Two answers, one leave each: each takes a lone instance away, so nothing is held.
    expect(await discovery.discover('pay')).toEqual([])
    const backend2 = createMemoryBackend()
    add(backend2, 'b1')
    add(backend2, 'b2')
    const two = setup({ emptyProtection: { holdMs: 30_000 }, minNotifyIntervalMs: 0 }, backend2)
    await two.discovery.discover('pay')
    backend2.setEmpty(true) // both vanish in one answer, at a newer revision
    let list = await two.discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['b1', 'b2'])
    expect(list.source).toBe('protected')
    expect(two.of('discovery:protected')).toEqual([{ service: 'pay', reason: 'mass-expiry', holdMs: 30_000, instances: 2 }])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(list.ageMs).toBe(10_000)
    await vi.advanceTimersByTimeAsync(20_000)
    list = await two.discovery.discover('pay')
    expect(list).toEqual([])
    expect(list.source).toBe('live')
    expect(two.of('discovery:unprotected')).toEqual([{ service: 'pay', outcome: 'expired', heldMs: 30_000 }])
    expect(two.of('discovery:changed')[0]!.diff.removed.map((i) => i.id)).toEqual(['b1', 'b2'])
    expect(of('discovery:protected')).toEqual([])
  })

  it('takes explicit leaves at once: a lone instance removed, or marked DOWN / OUT_OF_SERVICE', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    add(backend, 'a2', { status: 'UP' })
    const { discovery, of } = setup({ minNotifyIntervalMs: 0 }, backend)
    await discovery.discover('pay')
    add(backend, 'a1', { status: 'DOWN' })
    add(backend, 'a2', { status: 'OUT_OF_SERVICE' })
    const list = await discovery.discover('pay')
    expect(list).toEqual([])
    expect(list.source).toBe('live')
    const lone = createMemoryBackend()
    add(lone, 'c1')
    const one = setup({}, lone)
    await one.discovery.discover('pay')
    lone.removeInstance('pay', 'c1')
    expect(await one.discovery.discover('pay')).toEqual([])
    expect([...of('discovery:protected'), ...one.of('discovery:protected')]).toEqual([])
  })

  it('holds across a registry restart (reset index) until the instance is back', async () => {
    const backend = createMemoryBackend()
    backend.register({ service: 'pay', id: 'r1', address: '10.0.0.1', port: 9001, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 60_000 }, {})
    await vi.advanceTimersByTimeAsync(0)
    const { discovery, of } = setup({ minNotifyIntervalMs: 0 }, backend)
    await discovery.discover('pay')
    backend.loseAllLeases() // index back to 1, the lone instance gone
    await vi.advanceTimersByTimeAsync(2_000)
    const list = await discovery.discover('pay')
    expect(list.map((i) => i.id)).toEqual(['r1'])
    expect(list.source).toBe('protected')
    expect(list.ageMs).toBe(2_000)
    expect(of('discovery:protected')[0]).toMatchObject({ reason: 'reset' })
    add(backend, 'r1')
    expect((await discovery.discover('pay')).source).toBe('live')
    expect(of('discovery:unprotected')).toEqual([{ service: 'pay', outcome: 'recovered', heldMs: 2_000 }])
  })

  it('lets instances that come back end the hold, and can be turned off', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery } = setup({}, backend)
    await discovery.discover('pay')
    backend.removeInstance('pay', 'a1')
    add(backend, 'a2')
    expect((await discovery.discover('pay')).map((i) => i.id)).toEqual(['a2'])

    const other = createMemoryBackend()
    add(other, 'b1')
    const off = setup({ emptyProtection: false }, other)
    await off.discovery.discover('pay')
    other.setEmpty(true)
    expect(await off.discovery.discover('pay')).toEqual([])
  })
})

describe('snapshots on disk', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gov-discovery-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('stores the last snapshot and serves it at a cold start while the server is down', async () => {
    const first = createMemoryBackend()
    add(first, 'a1')
    add(first, 'a2')
    const one = setup({}, first, dir)
    await one.discovery.discover('pay')
    await one.discovery.close()
    const stored = JSON.parse(await readFile(join(dir, 'discovery', 'pay.json'), 'utf8')) as { instances: { id: string }[] }
    expect(stored.instances.map((i) => i.id)).toEqual(['a1', 'a2'])

    await vi.advanceTimersByTimeAsync(7_000)
    const second = createMemoryBackend()
    second.setUnreachable(true)
    const two = setup({ minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 100, maxDelayMs: 100 } }, second, dir)
    const cold = await two.discovery.discover('pay')
    expect(cold.map((i) => i.id)).toEqual(['a1', 'a2'])
    expect(cold.source).toBe('disk')
    expect(cold.ageMs).toBe(7_000)
    expect(two.of('discovery:stale')).toEqual([expect.objectContaining({ service: 'pay', ageMs: 7_000 })])

    // The server comes back with another set: it arrives by itself, diffed against the disk copy.
    add(second, 'a2')
    add(second, 'a3')
    second.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(200)
    const live = await two.discovery.discover('pay')
    expect(live.map((i) => i.id)).toEqual(['a2', 'a3'])
    expect(live.source).toBe('live')
    const changed = two.of('discovery:changed')
    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatchObject({ reset: true })
    expect(changed[0]!.diff.added.map((i) => i.id)).toEqual(['a3'])
    expect(changed[0]!.diff.removed.map((i) => i.id)).toEqual(['a1'])
    expect(two.of('discovery:recovered')).toHaveLength(1)
    await two.discovery.close()
    const rewritten = JSON.parse(await readFile(join(dir, 'discovery', 'pay.json'), 'utf8')) as { instances: { id: string }[] }
    expect(rewritten.instances.map((i) => i.id)).toEqual(['a2', 'a3'])
  })

  it('ignores a corrupt snapshot file', async () => {
    await mkdir(join(dir, 'discovery'), { recursive: true })
    await writeFile(join(dir, 'discovery', 'pay.json'), '{"format":1,"service":"pay"')
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { discovery } = setup({}, backend, dir)
    await expect(discovery.discover('pay')).rejects.toBeInstanceOf(ServerUnavailableError)
  })
})

