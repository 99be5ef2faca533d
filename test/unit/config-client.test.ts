import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { createConfigClient, resolveConfigOptions, type ConfigClient } from '../../src/config/index.js'
import {
  ClientClosedError,
  ConflictError,
  GovernanceError,
  InvalidArgumentError,
  NotSupportedError,
  ProtocolError,
  ServerUnavailableError,
} from '../../src/errors.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, createTestRegistry } from '../../src/testing/index.js'

const clients: ConfigClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

function setup(backend: Backend = createMemoryBackend()) {
  const ctx: SubsystemContext = { backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000 }
  const config = createConfigClient(resolveConfigOptions(undefined), ctx)
  clients.push(config)
  return config
}

describe('config get', () => {
  it('reads from the backend when the key is not watched, and from the local copy once it is', async () => {
    const backend = createMemoryBackend()
    const v = backend.setConfig('app', { a: 1 })
    const config = setup(backend)
    expect(await config.get('app')).toEqual({ value: { a: 1 }, version: v.version, source: 'live', ageMs: 0 })
    expect(await config.get('missing')).toBeUndefined()
    expect(backend.count('getConfig')).toBe(2)

    let seen = 0
    config.watch('app', () => void seen++)
    await expect.poll(() => seen).toBe(1)
    expect(await config.get('app')).toMatchObject({ value: { a: 1 }, version: v.version, source: 'memory' })
    const v2 = backend.setConfig('app', { a: 2 })
    expect(await config.get('app')).toMatchObject({ value: { a: 2 }, version: v2.version, source: 'memory' })
    expect(backend.count('getConfig')).toBe(2)
  })

  it('rethrows the failure when there is no snapshot to fall back to', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    backend.faults.failNext('getConfig', new ServerUnavailableError('down'))
    const config = setup(backend)
    await expect(config.get('app')).rejects.toBeInstanceOf(ServerUnavailableError)
    backend.faults.failNext('getConfig', new ProtocolError('garbage'))
    await expect(config.get('app')).rejects.toBeInstanceOf(ProtocolError)
  })

  it('turns a malformed entry or a foreign error into a GovernanceError', async () => {
    const backend = createTestRegistry().backend()
    backend.getConfig = async () => ({ key: 'app', value: 1 }) as never
    const config = setup(backend)
    await expect(config.get('app')).rejects.toThrow(ProtocolError)
    backend.getConfig = async () => {
      throw new TypeError('oops')
    }
    const error = await config.get('app').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(GovernanceError)
    expect((error as Error).message).toMatch(/oops/)
  })

  it('rethrows the abort reason, before and during the call', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    const reason = new Error('stop')
    await expect(config.get('app', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    backend.faults.delay('getConfig', 10_000)
    const controller = new AbortController()
    const pending = config.get('app', { signal: controller.signal })
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
  })
})

describe('config put and delete', () => {
  it('writes, returns the new version and honours ifVersion', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    const created = await config.put('app', { a: 1 }, { ifVersion: '0' })
    expect(created).toMatchObject({ value: { a: 1 }, source: 'live' })
    await expect(config.put('app', { a: 2 }, { ifVersion: '0' })).rejects.toBeInstanceOf(ConflictError)
    const updated = await config.put('app', { a: 2 }, { ifVersion: created.version })
    expect(BigInt(updated.version) > BigInt(created.version)).toBe(true)
    expect((await config.get('app'))?.value).toEqual({ a: 2 })
    expect(await config.put('app', null)).toMatchObject({ value: null })
  })

  it('lets exactly one of two racing writers with the same ifVersion win', async () => {
    const backend = createMemoryBackend()
    const base = backend.setConfig('counter', 0)
    const a = setup(backend)
    const b = setup(backend)
    const results = await Promise.allSettled([
      a.put('counter', 1, { ifVersion: base.version }),
      b.put('counter', 2, { ifVersion: base.version }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const lost = results.filter((r) => r.status === 'rejected')
    expect(lost).toHaveLength(1)
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError)
  })

  it('deletes, with and without ifVersion', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    const v = await config.put('app', 1)
    await expect(config.delete('app', { ifVersion: '1000' })).rejects.toBeInstanceOf(ConflictError)
    expect(await config.delete('app', { ifVersion: v.version })).toBe(true)
    expect(await config.delete('app')).toBe(false)
    expect(await config.get('app')).toBeUndefined()
  })

  it('throws NotSupportedError when the backend cannot write, delete or compare-and-set', async () => {
    const memory = createTestRegistry()
    const readOnly = setup(memory.backend({ configWrites: false }))
    await expect(readOnly.put('app', 1)).rejects.toBeInstanceOf(NotSupportedError)
    await expect(readOnly.delete('app')).rejects.toBeInstanceOf(NotSupportedError)
    const noCas = setup(memory.backend({ capabilities: { compareAndSet: false } }))
    await expect(noCas.put('app', 1, { ifVersion: '0' })).rejects.toBeInstanceOf(NotSupportedError)
    expect(await noCas.put('app', 1)).toMatchObject({ value: 1 })
    expect(memory.count('putConfig')).toBe(1)
  })
})

describe('config arguments', () => {
  it('rejects bad keys with InvalidArgumentError naming the key, before any call', async () => {
    const backend = createMemoryBackend()
    const config = setup(backend)
    for (const key of ['', 'a/b', '-lead', 'sp ace', 'x'.repeat(257), 42]) {
      await expect(config.get(key as string)).rejects.toThrow(InvalidArgumentError)
      await expect(config.put(key as string, 1)).rejects.toThrow(/config key/)
      expect(() => config.watch(key as string, () => {})).toThrow(InvalidArgumentError)
      expect(() => config.changes(key as string)).toThrow(InvalidArgumentError)
    }
    await expect(config.get('a/b')).rejects.toThrow(/"a\/b"/)
    expect(backend.calls).toHaveLength(0)
    expect(await config.get(`a${'b'.repeat(255)}`)).toBeUndefined()
    expect(await config.get('svc.orders:v1_x-y')).toBeUndefined()
  })

  it('rejects bad values, versions, callbacks and schemas', async () => {
    const config = setup()
    await expect(config.put('app', undefined)).rejects.toThrow(/must be a JSON value/)
    await expect(config.put('app', 1n)).rejects.toThrow(/not JSON-serialisable/)
    await expect(config.put('app', 'x'.repeat(600 * 1024))).rejects.toThrow(/over the 524288-byte limit/)
    await expect(config.put('app', 1, { ifVersion: 7 as unknown as string })).rejects.toThrow(/ifVersion/)
    await expect(config.delete('app', { ifVersion: '07' })).rejects.toThrow(InvalidArgumentError)
    expect(() => config.watch('app', 'nope' as never)).toThrow(/callback must be a function/)
    expect(() => config.watch('app', () => {}, { schema: { parse: () => 1 } as never })).toThrow(/Standard Schema/)
    await expect(config.get('app', { signal: 'x' as never })).rejects.toThrow(/signal must be an AbortSignal/)
  })
})

describe('config close', () => {
  it('stops every watch, ends iterators, refuses new calls and is idempotent', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    const config = setup(backend)
    const seen: unknown[] = []
    config.watch('app', (v) => void seen.push(v))
    const iterator = config.changes('other')
    expect((await iterator.next()).value).toMatchObject({ key: 'other', value: undefined })
    const pending = iterator.next()
    await expect.poll(() => seen.length).toBe(1)
    const closing = config.close()
    expect(config.close()).toBe(closing)
    await closing
    expect(await pending).toEqual({ value: undefined, done: true })
    backend.setConfig('app', 2)
    expect(seen).toEqual([1])
    await expect(config.get('app')).rejects.toBeInstanceOf(ClientClosedError)
    await expect(config.put('app', 1)).rejects.toBeInstanceOf(ClientClosedError)
    expect(() => config.watch('app', () => {})).toThrow(ClientClosedError)
  })
})
