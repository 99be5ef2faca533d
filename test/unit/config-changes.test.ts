import { afterEach, describe, expect, it } from 'vitest'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient, type ConfigOptions } from '../../src/config/index.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'

const clients: ConfigClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

function setup(backend: MemoryBackend, options?: ConfigOptions) {
  const ctx: SubsystemContext = { backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000 }
  const config = createConfigClient(resolveConfigOptions(options), ctx)
  clients.push(config)
  return config
}

describe('config changes()', () => {
  it('yields the current value, then each change, and ends when the signal aborts', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', { a: 1 })
    const config = setup(backend)
    const controller = new AbortController()
    const seen: ConfigChange<unknown>[] = []
    for await (const change of config.changes('app', { signal: controller.signal })) {
      seen.push(change)
      if (seen.length === 1) backend.setConfig('app', { a: 2 })
      if (seen.length === 2) controller.abort()
    }
    expect(seen.map((c) => c.value)).toEqual([{ a: 1 }, { a: 2 }])
    expect(seen[1]).toMatchObject({ previous: { a: 1 }, changedKeys: ['a'] })
    // The backend watch went away with the iterator.
    backend.setConfig('app', { a: 3 })
    expect(backend.count('watchConfig')).toBe(1)
    const again = config.changes('app')
    expect((await again.next()).value).toMatchObject({ value: { a: 3 }, source: 'live' })
    expect(backend.count('watchConfig')).toBe(2)
    await again.return!()
    expect(await again.next()).toEqual({ value: undefined, done: true })
  })

  it('ends at once for an already aborted signal', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    const iterator = config.changes('app', { signal: AbortSignal.abort() })
    expect(await iterator.next()).toEqual({ value: undefined, done: true })
    expect(backend.count('watchConfig')).toBe(0)
  })

  it('bounds the buffer for a slow consumer, keeping the latest and chaining previous and changedKeys', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', { a: 0, b: 0, c: 0 })
    const config = setup(backend, { changesBufferSize: 2 })
    const iterator = config.changes('app')
    const first = await iterator.next()
    expect(first.value).toMatchObject({ value: { a: 0, b: 0, c: 0 } })
    backend.setConfig('app', { a: 1, b: 0, c: 0 })
    backend.setConfig('app', { a: 1, b: 1, c: 0 })
    backend.setConfig('app', { a: 1, b: 1, c: 1 })
    backend.setConfig('app', { a: 0, b: 1, c: 2 })
    const a = (await iterator.next()).value as ConfigChange<unknown>
    const b = (await iterator.next()).value as ConfigChange<unknown>
    // Four changes, two slots: the first three were folded into one.
    expect(a).toMatchObject({ value: { a: 1, b: 1, c: 1 }, previous: { a: 0, b: 0, c: 0 }, changedKeys: ['a', 'b', 'c'] })
    expect(b).toMatchObject({ value: { a: 0, b: 1, c: 2 }, previous: { a: 1, b: 1, c: 1 }, changedKeys: ['a', 'c'] })
    await iterator.return!()
  })

  it('serves concurrent next() calls in order', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    const iterator = config.changes<number>('app')
    const p1 = iterator.next()
    const p2 = iterator.next()
    await p1
    backend.setConfig('app', 7)
    expect((await p2).value?.value).toBe(7)
    await config.close()
    expect((await iterator.next()).done).toBe(true)
  })
})
