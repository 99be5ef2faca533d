import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient } from '../../src/config/index.js'
import { ProtocolError } from '../../src/errors.js'
import type { GovernanceEventName } from '../../src/events.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import type { ConfigEntry } from '../../src/types.js'

const clients: ConfigClient[] = []
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** The test registry seen through a server that cannot push: no watchConfig. */
function polled(memory: TestRegistry): Backend & { getConfig: Backend['getConfig'] } {
  return memory.backend({ name: 'polled', push: false })
}

function setup(backend: Backend) {
  const events: { event: GovernanceEventName; payload: unknown }[] = []
  const ctx: SubsystemContext = {
    backend,
    emit: (event, payload) => void events.push({ event, payload }),
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
  }
  const config = createConfigClient(resolveConfigOptions({ pollIntervalMs: 500 }), ctx)
  clients.push(config)
  return { config, events }
}

describe('config polling (backend without watchConfig)', () => {
  it('reads at once, then every interval, delivering only changes', async () => {
    const memory = createTestRegistry()
    memory.setConfig('app', 'a')
    const { config } = setup(polled(memory))
    const seen: ConfigChange<unknown>[] = []
    config.watch('app', (_v, c) => void seen.push(c))
    await vi.advanceTimersByTimeAsync(0)
    expect(seen.map((c) => c.value)).toEqual(['a'])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(seen).toHaveLength(1)
    expect(memory.count('getConfig')).toBe(3)

    memory.setConfig('app', 'b')
    await vi.advanceTimersByTimeAsync(499)
    expect(seen).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(seen.map((c) => c.value)).toEqual(['a', 'b'])

    memory.deleteConfigKey('app')
    await vi.advanceTimersByTimeAsync(500)
    memory.setConfig('app', 'c')
    await vi.advanceTimersByTimeAsync(500)
    expect(seen.map((c) => c.value)).toEqual(['a', 'b', undefined, 'c'])
  })

  it('treats a lower version as a restart: delivers a changed value, skips an equal one', async () => {
    const memory = createTestRegistry()
    memory.setConfig('app', 'a')
    memory.setConfig('app', 'a2')
    const { config } = setup(polled(memory))
    const seen: unknown[] = []
    config.watch('app', (v) => void seen.push(v))
    await vi.advanceTimersByTimeAsync(0)
    memory.resetIndex()
    memory.setConfig('app', 'a2') // version 2, lower than before, same value
    await vi.advanceTimersByTimeAsync(500)
    expect(seen).toEqual(['a2'])
    memory.resetIndex()
    memory.setConfig('app', 'z')
    memory.setConfig('app', 'zz') // version 3: newer than the last poll, delivered as a plain change
    await vi.advanceTimersByTimeAsync(500)
    expect(seen).toEqual(['a2', 'zz'])
  })

  it('keeps the last good value through failed reads, backs off (the one feed backoff, never past the interval), and stops when unwatched', async () => {
    // The ceiling of each full-jitter delay: 200 ms, 400 ms, 800 ms… capped at the 500 ms interval.
    vi.spyOn(Math, 'random').mockReturnValue(1)
    const memory = createTestRegistry()
    memory.setConfig('app', 'good')
    const { config, events } = setup(polled(memory))
    const seen: unknown[] = []
    const off = config.watch('app', (v) => void seen.push(v))
    await vi.advanceTimersByTimeAsync(0)
    memory.faults.failNext('getConfig', new ProtocolError('malformed answer'), 3)
    await vi.advanceTimersByTimeAsync(500) // fail 1, next in 200 ms
    await vi.advanceTimersByTimeAsync(200) // fail 2, next in 400 ms
    expect(memory.count('getConfig')).toBe(3)
    await vi.advanceTimersByTimeAsync(400) // fail 3, next in 500 ms (800 capped at the interval)
    await vi.advanceTimersByTimeAsync(499)
    expect(memory.count('getConfig')).toBe(4)
    expect(await config.get('app')).toMatchObject({ value: 'good', source: 'memory' })
    expect(events.filter((e) => e.event === 'error')).toHaveLength(1)
    memory.setConfig('app', 'better')
    await vi.advanceTimersByTimeAsync(1)
    expect(seen).toEqual(['good', 'better'])

    off()
    const calls = memory.count('getConfig')
    await vi.advanceTimersByTimeAsync(10_000)
    expect(memory.count('getConfig')).toBe(calls)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('guards against a backend answering a malformed entry', async () => {
    const memory = createTestRegistry()
    const backend = polled(memory)
    backend.getConfig = async () => ({ key: 'app', value: 1, version: 'seven' }) as ConfigEntry
    const { config, events } = setup(backend)
    const seen: unknown[] = []
    config.watch('app', (v) => void seen.push(v))
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([])
    expect(events.find((e) => e.event === 'error')?.payload).toBeInstanceOf(ProtocolError)
  })
})
