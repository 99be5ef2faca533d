/** gov.subscribe(): lasting subscriptions with the first state and every change; gov.services(). */
import { describe, expect, it, vi } from 'vitest'
import { GovernanceClient } from '../../src/client.js'
import { ClientClosedError, InvalidArgumentError, NotSupportedError } from '../../src/errors.js'
import { createMemoryBackend, createTestRegistry } from '../../src/testing/index.js'
import type { ServiceChange } from '../../src/discovery/index.js'
import { add, fakeTimersPerTest, withoutWatch } from '../fixtures/scripted-discovery-backend.js'

const clients: GovernanceClient[] = []
function client(backend = createMemoryBackend(), idleWatchMs = 10_000): GovernanceClient {
  const gov = new GovernanceClient({ backend, logger: false, metrics: false, discovery: { idleWatchMs, minNotifyIntervalMs: 0 } })
  clients.push(gov)
  return gov
}

fakeTimersPerTest(() => Promise.all(clients.splice(0).map((c) => c.close())))

describe('gov.subscribe(service, listener)', () => {
  it('delivers the first state, then every change with its diff, for longer than idleWatchMs', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const gov = client(backend, 10_000)
    const got: ServiceChange[] = []
    const stop = gov.subscribe('pay', (change) => got.push(change))
    expect(got).toEqual([]) // never called synchronously
    await vi.advanceTimersByTimeAsync(0)
    expect(got).toHaveLength(1)
    expect(got[0]).toMatchObject({ service: 'pay', first: true, reset: false })
    expect(got[0]!.diff.added.map((i) => i.id)).toEqual(['a1'])
    // Far past idleWatchMs, with no discover() call: the watch is still held.
    for (let i = 2; i <= 6; i++) {
      await vi.advanceTimersByTimeAsync(15_000)
      add(backend, `a${i}`)
      await vi.advanceTimersByTimeAsync(0)
    }
    expect(got.map((c) => c.diff.added.map((i) => i.id))).toEqual([['a1'], ['a2'], ['a3'], ['a4'], ['a5'], ['a6']])
    expect(got.slice(1).every((c) => !c.first)).toBe(true)
    backend.removeInstance('pay', 'a1')
    await vi.advanceTimersByTimeAsync(0)
    expect(got.at(-1)!.diff.removed.map((i) => i.id)).toEqual(['a1'])
    expect(got.at(-1)!.instances).toHaveLength(5)
    stop()
    stop() // idempotent
    add(backend, 'a9')
    await vi.advanceTimersByTimeAsync(0)
    expect(got).toHaveLength(7)
    // Once unsubscribed (and not asked for), the idle sweep drops the watch.
    await vi.advanceTimersByTimeAsync(30_000)
    expect(backend.openWatches).toBe(0)
  })

  it('waits for a cold service to appear, and keeps going after a listener throws', async () => {
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const gov = client(backend)
    const errors: unknown[] = []
    gov.on('error', (e) => errors.push(e))
    const got: ServiceChange[] = []
    gov.subscribe('pay', (change) => {
      got.push(change)
      if (got.length === 1) throw new Error('listener bug')
    })
    await vi.advanceTimersByTimeAsync(1_000)
    expect(got).toEqual([])
    add(backend, 'a1')
    backend.setUnreachable(false)
    await vi.advanceTimersByTimeAsync(6_000)
    expect(got).toHaveLength(1)
    expect(got[0]!.first).toBe(true)
    expect(errors).toHaveLength(1)
    add(backend, 'a2')
    await vi.advanceTimersByTimeAsync(0)
    expect(got).toHaveLength(2)
  })

  it('rejects bad arguments with InvalidArgumentError and calls after close() with ClientClosedError', async () => {
    const gov = client()
    expect(() => gov.subscribe('bad name!', () => {})).toThrow(InvalidArgumentError)
    expect(() => gov.subscribe('pay', 42 as never)).toThrow(InvalidArgumentError)
    await gov.close()
    expect(() => gov.subscribe('pay', () => {})).toThrow(ClientClosedError)
  })
})

describe('gov.subscribe(service) as an async iterator', () => {
  it('yields the first state, folds changes for a slow consumer, and ends on abort', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const gov = client(backend, 10_000)
    const controller = new AbortController()
    const stream = gov.subscribe('pay', { signal: controller.signal })
    const first = await stream.next()
    expect(first.value).toMatchObject({ first: true })
    // Three changes while the consumer is away: one folded delivery from what it last saw.
    await vi.advanceTimersByTimeAsync(20_000)
    add(backend, 'a2')
    add(backend, 'a3')
    backend.removeInstance('pay', 'a1')
    await vi.advanceTimersByTimeAsync(0)
    const folded = (await stream.next()).value!
    expect(folded.diff.added.map((i: { id: string }) => i.id)).toEqual(['a2', 'a3'])
    expect(folded.diff.removed.map((i: { id: string }) => i.id)).toEqual(['a1'])
    const pending = stream.next()
    controller.abort()
    expect(await pending).toEqual({ value: undefined, done: true })
  })

  it('ends every iterator when the client closes', async () => {
    const backend = createMemoryBackend()
    add(backend, 'a1')
    const gov = client(backend)
    const seen: ServiceChange[] = []
    const loop = (async () => {
      for await (const change of gov.subscribe('pay')) seen.push(change)
    })()
    await vi.advanceTimersByTimeAsync(0)
    await gov.close()
    await loop
    expect(seen).toHaveLength(1)
  })
})

describe('gov.services()', () => {
  it('lists the services of the registry, sorted', async () => {
    const backend = createMemoryBackend()
    backend.addInstance({ service: 'zeta', id: 'z', address: '10.0.0.2', port: 1 })
    add(backend, 'a1')
    expect(await client(backend).services()).toEqual(['pay', 'zeta'])
  })

  it('names the backend when it cannot list services', async () => {
    const registry = createTestRegistry()
    const backend = { ...withoutWatch(registry), name: 'no-list', listServices: undefined }
    const error = await client(backend as never).services().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotSupportedError)
    expect((error as Error).message).toContain('no-list')
  })
})
