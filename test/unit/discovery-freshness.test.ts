/** Honest freshness: ageMs and source count from the server's last confirmation, not the last change. */
import { describe, expect, it, vi } from 'vitest'
import { TimeoutError } from '../../src/errors.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import { add, open, setup, fakeTimersPerTest } from '../fixtures/scripted-discovery-backend.js'

fakeTimersPerTest()

describe('freshness from confirmations', () => {
  it('keeps a confirmed watch live and young without any change', async () => {
    const backend = createMemoryBackend({ confirmIntervalMs: 1_000 })
    add(backend, 'a1')
    const { discovery, of } = setup({ maxStalenessMs: 5_000 }, backend)
    await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(60_000)
    const list = await discovery.discover('pay')
    expect(list.source).toBe('live')
    expect(list.ageMs).toBeLessThanOrEqual(1_000)
    // The confirmations kept it fresh: no probe was needed.
    expect(backend.count('resolve')).toBe(1)
    expect(of('discovery:stale')).toEqual([])
  })

  it('ages from the last confirmation when confirmations stop, probes, then goes stale and recovers', async () => {
    const backend = createMemoryBackend({ confirmIntervalMs: 1_000 })
    add(backend, 'a1')
    const { discovery, of } = setup({ maxStalenessMs: 5_000, refreshAheadMs: 1_000, recoveryBackoff: { minDelayMs: 100, maxDelayMs: 500 } }, backend)
    const first = await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(2_000)
    backend.setSilent(true) // a hung server: no confirmations, calls wait out their deadline
    const silentFrom = Date.now()
    await vi.advanceTimersByTimeAsync(3_000)
    expect(first.ageMs).toBeGreaterThanOrEqual(3_000) // the same answer object keeps counting
    expect(first.source).toBe('live') // not yet past maxStalenessMs
    await vi.advanceTimersByTimeAsync(2_500) // 5.5 s since the last confirmation
    const stale = await discovery.discover('pay')
    expect(stale.map((i) => i.id)).toEqual(['a1'])
    expect(stale.source).toBe('memory')
    expect(stale.ageMs).toBeGreaterThanOrEqual(Date.now() - silentFrom)
    expect(of('discovery:stale')).toHaveLength(1)
    expect(of('discovery:stale')[0]!.ageMs).toBeGreaterThanOrEqual(5_000)
    expect(of('discovery:stale')[0]!.error).toBeInstanceOf(TimeoutError)
    await vi.advanceTimersByTimeAsync(4_000)
    expect((await discovery.discover('pay')).ageMs).toBeGreaterThan(8_000)
    expect(of('discovery:recovered')).toEqual([])
    backend.setSilent(false)
    await vi.advanceTimersByTimeAsync(2_000)
    const back = await discovery.discover('pay')
    expect(back.source).toBe('live')
    expect(back.ageMs).toBeLessThanOrEqual(1_000)
    expect(of('discovery:recovered')).toEqual([{ service: 'pay' }])
    expect(of('discovery:stale')).toHaveLength(1)
  })

  it('a backend that never confirms is probed with resolve() before maxStalenessMs, and the probe confirms', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery, of } = setup({ maxStalenessMs: 10_000, refreshAheadMs: 1_000 }, backend)
    await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(8_900)
    expect((await discovery.discover('pay')).ageMs).toBe(8_900)
    expect(backend.count('resolve')).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    expect(backend.count('resolve')).toBe(2)
    const list = await discovery.discover('pay')
    expect(list.ageMs).toBe(100)
    expect(list.source).toBe('live')
    expect(of('discovery:stale')).toEqual([])
  })

  it('honours a per-call maxStalenessMs against the age since the last confirmation', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery } = setup({}, backend)
    await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(3_000)
    const list = await discovery.discover('pay', { maxStalenessMs: 1_000 })
    expect(backend.count('resolve')).toBe(2)
    expect(list.ageMs).toBe(0)
  })
})

describe('config freshness', () => {
  it('a watched key tells its age since the last confirmation, and maxStalenessMs reads past an old copy', async () => {
    const { GovernanceClient } = await import('../../src/client.js')
    const backend = createMemoryBackend({ confirmIntervalMs: 1_000 })
    backend.setConfig('app', { a: 1 })
    const gov = new GovernanceClient({ backend, logger: false, metrics: false })
    try {
      const stop = gov.config.watch('app', () => {})
      await vi.advanceTimersByTimeAsync(10_000)
      let read = await gov.config.get('app')
      expect(read).toMatchObject({ source: 'memory' })
      expect(read!.ageMs).toBeLessThanOrEqual(1_000)
      backend.setSilent(true)
      await vi.advanceTimersByTimeAsync(7_000)
      read = await gov.config.get('app')
      expect(read!.ageMs).toBeGreaterThanOrEqual(7_000)
      backend.setSilent(false)
      const reads = backend.count('getConfig')
      read = await gov.config.get('app', { maxStalenessMs: 500 })
      expect(read).toMatchObject({ source: 'live', ageMs: 0 })
      expect(backend.count('getConfig')).toBe(reads + 1)
      stop()
    } finally {
      await gov.close()
    }
  })
})

describe('tiny maxStalenessMs', () => {
  it('maxStalenessMs: 0 refreshes per call instead of storming probes and stale events', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const { discovery, of } = setup({ maxStalenessMs: 0 }, backend)
    await discovery.discover('pay')
    await vi.advanceTimersByTimeAsync(10_000)
    // The watchdog's floor (1 s): at most one probe per half second, never a stale storm.
    expect(backend.count('resolve')).toBeLessThanOrEqual(22)
    expect(of('discovery:stale')).toEqual([])
    const before = backend.count('resolve')
    await vi.advanceTimersByTimeAsync(100)
    const list = await discovery.discover('pay')
    expect(backend.count('resolve')).toBeGreaterThan(before) // the call itself refreshed
    expect(list.source).toBe('live')
  })
})
