import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Backend, Unsubscribe, Watcher, WatchMeta } from '../../src/backend.js'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient } from '../../src/config/index.js'
import { ProtocolError, ServerUnavailableError } from '../../src/errors.js'
import type { GovernanceEventName } from '../../src/events.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend } from '../../src/testing/index.js'
import type { ConfigEntry } from '../../src/types.js'

interface Emitted {
  event: GovernanceEventName
  payload: unknown
}

function setup(backend: Backend = createMemoryBackend()) {
  const events: Emitted[] = []
  const ctx: SubsystemContext = {
    backend,
    emit: (event, payload) => void events.push({ event, payload }),
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
  }
  const config = createConfigClient(resolveConfigOptions(undefined), ctx)
  clients.push(config)
  return { config, events, ctx }
}

const clients: ConfigClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** Records deliveries and lets a test await the n-th one. */
class Recorder<T = unknown> {
  readonly changes: ConfigChange<T>[] = []
  #waiters: { n: number; resolve: () => void }[] = []
  readonly cb = (_value: T | undefined, change: ConfigChange<T>): void => {
    this.changes.push(change)
    this.#waiters = this.#waiters.filter((w) => (this.changes.length >= w.n ? (w.resolve(), false) : true))
  }
  until(n: number): Promise<void> {
    if (this.changes.length >= n) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ n, resolve }))
  }
  get values(): unknown[] {
    return this.changes.map((c) => c.value)
  }
}

/**
 * A backend whose config feed the test drives by hand. Its reads (the re-list after a broken
 * watch) answer what `answer()` set, or fail as `failReads()` says; else the memory backend's.
 */
function manualBackend(): {
  backend: Backend
  feed: () => Watcher<ConfigEntry | undefined>
  watches: () => number
  answer: (entry: ConfigEntry | undefined) => void
  failReads: (error: Error) => void
} {
  const memory = createMemoryBackend()
  let watcher: Watcher<ConfigEntry | undefined> | undefined
  let watches = 0
  let scripted: { entry: ConfigEntry | undefined } | undefined
  let readError: Error | undefined
  const backend: Backend = {
    name: 'manual',
    capabilities: memory.capabilities,
    register: (s, c) => memory.register(s, c),
    renew: (l, c) => memory.renew(l, c),
    deregister: (l, c) => memory.deregister(l, c),
    resolve: (s, c) => memory.resolve(s, c),
    getConfig: async (k, c) => {
      if (readError) throw readError
      return scripted ? scripted.entry : memory.getConfig(k, c)
    },
    watchConfig: (_key, w): Unsubscribe => {
      watches++
      watcher = w
      return () => {
        watcher = undefined
      }
    },
    close: () => memory.close(),
  }
  return {
    backend,
    feed: () => {
      if (!watcher) throw new Error('no watch open')
      return watcher
    },
    watches: () => watches,
    answer: (entry) => {
      readError = undefined
      scripted = { entry }
    },
    failReads: (error) => {
      readError = error
    },
  }
}

const entry = (value: unknown, version: string): ConfigEntry => ({ key: 'app', value, version })
const live = (revision: string, reset = false): WatchMeta => ({ revision, reset })

describe('config watch', () => {
  it('delivers the current value first, then each change with previous, version and changed keys', async () => {
    const backend = createMemoryBackend()
    const first = backend.setConfig('app', { a: 1, b: 2 })
    const { config, events } = setup(backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    await rec.until(1)
    expect(rec.changes[0]).toEqual({ key: 'app', value: { a: 1, b: 2 }, previous: undefined, version: first.version, changedKeys: ['a', 'b'], source: 'live' })

    const second = backend.setConfig('app', { a: 1, b: 3, c: 4 })
    await rec.until(2)
    expect(rec.changes[1]).toMatchObject({ value: { a: 1, b: 3, c: 4 }, previous: { a: 1, b: 2 }, version: second.version, changedKeys: ['b', 'c'] })
    const changed = events.filter((e) => e.event === 'config:changed').map((e) => e.payload)
    expect(changed.at(-1)).toEqual({ key: 'app', value: { a: 1, b: 3, c: 4 }, previous: { a: 1, b: 2 }, version: second.version, changedKeys: ['b', 'c'] })
  })

  it('delivers undefined for a missing key, then the value when it appears, then undefined on delete', async () => {
    const backend = createMemoryBackend()
    const { config } = setup(backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    await rec.until(1)
    expect(rec.changes[0]).toMatchObject({ value: undefined, version: undefined, changedKeys: [] })
    backend.setConfig('app', { x: 1 })
    backend.deleteConfigKey('app')
    await rec.until(3)
    expect(rec.values).toEqual([undefined, { x: 1 }, undefined])
    expect(rec.changes[2]).toMatchObject({ previous: { x: 1 }, version: undefined, changedKeys: ['x'] })
  })

  it('opens one backend watch per key however many watchers, and drops it with the last one', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    const { config } = setup(backend)
    const a = new Recorder()
    const b = new Recorder()
    const offA = config.watch('app', a.cb)
    await a.until(1)
    const offB = config.watch('app', b.cb)
    await b.until(1)
    expect(b.changes[0]).toMatchObject({ value: 1, source: 'memory' })
    expect(backend.count('watchConfig')).toBe(1)

    offA()
    offA() // idempotent
    backend.setConfig('app', 2)
    expect(a.values).toEqual([1])
    expect(b.values).toEqual([1, 2])
    offB()
    const c = new Recorder()
    config.watch('app', c.cb)
    await c.until(1)
    expect(backend.count('watchConfig')).toBe(2)
    expect(c.changes[0]).toMatchObject({ value: 2, source: 'live' })
  })

  it('never goes backwards: drops deliveries that are not newer than the last one', async () => {
    const m = manualBackend()
    const { config } = setup(m.backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    m.feed().next(entry('v5', '5'), live('5'))
    m.feed().next(entry('v3', '3'), live('3'))
    m.feed().next(entry('v5', '5'), live('5'))
    m.feed().next(entry('v7', '7'), live('7'))
    m.feed().next(entry('v6', '6'), live('6'))
    await rec.until(2)
    expect(rec.values).toEqual(['v5', 'v7'])
  })

  it('after a reset accepts lower versions, but delivers only a real change', async () => {
    const m = manualBackend()
    const { config } = setup(m.backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    m.feed().next(entry({ a: 1 }, '40'), live('40'))
    m.feed().next(entry({ a: 1 }, '2'), live('2', true))
    m.feed().next(entry({ a: 2 }, '3'), live('3'))
    m.feed().next(entry({ a: 3 }, '1'), live('1', true))
    await rec.until(3)
    expect(rec.values).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }])
    expect(rec.changes.map((c) => c.version)).toEqual(['40', '3', '1'])
    expect((await config.get('app'))?.version).toBe('1')
  })

  it('ends on the last of 1,000 rapid changes with versions strictly increasing', async () => {
    const backend = createMemoryBackend()
    const { config } = setup(backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    await rec.until(1)
    for (let i = 1; i <= 1000; i++) backend.setConfig('app', { i })
    await rec.until(1001)
    expect(rec.changes.at(-1)?.value).toEqual({ i: 1000 })
    const versions = rec.changes.slice(1).map((c) => BigInt(c.version!))
    for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true)
  })

  it('keeps delivering when a callback throws, and reports the throw as an error event', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    const { config, events } = setup(backend)
    const rec = new Recorder()
    let calls = 0
    config.watch('app', () => {
      calls++
      throw new Error('boom')
    })
    config.watch('app', rec.cb)
    await rec.until(1)
    backend.setConfig('app', 2)
    await rec.until(2)
    expect(calls).toBe(2)
    const errors = events.filter((e) => e.event === 'error').map((e) => (e.payload as Error).message)
    expect(errors).toHaveLength(2)
    expect(errors[0]).toMatch(/a config watcher of app threw: boom/)
  })

  it('keeps the last good value through a broken feed and a malformed answer, reporting once per outage', async () => {
    vi.useFakeTimers()
    try {
      const m = manualBackend()
      const { config, events } = setup(m.backend)
      const rec = new Recorder()
      config.watch('app', rec.cb)
      m.feed().next(entry('good', '5'), live('5'))
      await rec.until(1)
      // The watch breaks; the re-lists behind it fail, then answer a malformed entry.
      m.failReads(new ServerUnavailableError('down'))
      m.feed().error(new ProtocolError('malformed answer'))
      await vi.advanceTimersByTimeAsync(2_000)
      m.answer({ key: 'app', version: 6 } as unknown as ConfigEntry)
      await vi.advanceTimersByTimeAsync(10_000)
      const kept = await config.get('app')
      expect(kept).toEqual({ value: 'good', version: '5', source: 'memory', ageMs: kept!.ageMs })
      expect(events.filter((e) => e.event === 'error')).toHaveLength(1)

      // The server is back: the re-list delivers, the watch opens again, and its next break is a new outage.
      m.answer(entry('next', '6'))
      await vi.advanceTimersByTimeAsync(10_000)
      await rec.until(2)
      expect(m.watches()).toBe(2)
      m.feed().error(new ServerUnavailableError('down again'))
      expect(events.filter((e) => e.event === 'error')).toHaveLength(2)
      expect(rec.values).toEqual(['good', 'next'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('resumes after the memory backend is unreachable and delivers the change made meanwhile', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 'a')
    const { config } = setup(backend)
    const rec = new Recorder()
    config.watch('app', rec.cb)
    await rec.until(1)
    backend.setUnreachable(true)
    backend.setConfig('app', 'b')
    backend.setUnreachable(false)
    await rec.until(2)
    expect(rec.values).toEqual(['a', 'b'])
  })

  it('lets a callback subscribe and unsubscribe from inside a delivery', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    const { config } = setup(backend)
    const inner = new Recorder()
    const off: (() => void)[] = []
    off.push(
      config.watch('app', () => {
        // Subscribing first keeps the key watched, so the backend watch stays open.
        if (off.length === 1) off.push(config.watch('app', inner.cb))
        off[0]?.()
      }),
    )
    await inner.until(1)
    expect(inner.changes[0]).toMatchObject({ value: 1, source: 'memory' })
    backend.setConfig('app', 2)
    await inner.until(2)
    expect(backend.count('watchConfig')).toBe(1)
  })
})
