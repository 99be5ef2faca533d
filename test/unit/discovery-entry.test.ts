/** A cached service's entry: a read-only view over the feed engine (no field anyone else may write). */
import { describe, expect, it, vi } from 'vitest'
import { resolveDiscoveryOptions } from '../../src/discovery/index.js'
import { ServiceEntry } from '../../src/discovery/entry.js'
import { ServerUnavailableError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import { fakeTimersPerTest } from '../fixtures/scripted-discovery-backend.js'

fakeTimersPerTest()

function entryOn(backend = createMemoryBackend()) {
  const options = resolveDiscoveryOptions({})
  const events: string[] = []
  const entry = new ServiceEntry('pay', {
    options,
    backend,
    requestTimeoutMs: 1_000,
    emit: (event) => void events.push(event),
    logger: silentLogger,
    now: () => Date.now(),
    random: Math.random,
    defaultPick: { key: '', filter: options.defaultFilter, zone: undefined, balancer: options.defaultBalancer },
    persist: undefined,
  })
  return { entry, events, backend }
}

describe('ServiceEntry', () => {
  it('has no public mutable field: its state is read through getters and changed by the feed', async () => {
    const { entry, backend } = entryOn()
    backend.addInstance({ service: 'pay', id: 'a', address: '10.0.0.1', port: 80 })
    expect(Object.keys(entry).sort()).toEqual(['service', 'stats'])
    for (const name of ['view', 'fastPromise', 'fresh', 'outage', 'lastError', 'confirmedAt', 'subscriberCount']) {
      expect(() => Object.assign(entry, { [name]: undefined }), name).toThrow(TypeError)
    }
    await entry.refresh()
    expect(entry.view?.snapshot.instances.map((i) => i.id)).toEqual(['a'])
    expect(entry.fresh).toBe(true)
    expect(entry.fastPromise).toBeDefined()
    entry.close()
  })

  it('an outage ends the fast path and is told once; the next answer restores it', async () => {
    const { entry, events, backend } = entryOn()
    await entry.refresh()
    backend.faults.failNext('resolve', new ServerUnavailableError('down'), 2)
    await entry.refresh(true)
    await entry.refresh(true)
    expect(entry).toMatchObject({ outage: true, fresh: false, fastPromise: undefined })
    expect(entry.lastError?.message).toBe('down')
    expect(events.filter((e) => e === 'discovery:stale')).toHaveLength(1)
    await entry.refresh(true)
    expect(entry).toMatchObject({ outage: false, fresh: true, lastError: undefined })
    expect(entry.fastPromise).toBeDefined()
    expect(events).toContain('discovery:recovered')
    entry.close()
    await vi.advanceTimersByTimeAsync(60_000)
  })
})
