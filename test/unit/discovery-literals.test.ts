/**
 * Options literals on the fast path: a fresh object with the same content as an earlier,
 * validated one reuses its selection, yet every other part of the bag is still checked, and
 * a mutated or look-alike value never borrows a selection it does not match.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createDiscovery, resolveDiscoveryOptions, type Discovery } from '../../src/discovery/index.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'
import type { Instance } from '../../src/types.js'

const open: Discovery[] = []

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
})

async function warm(): Promise<{ backend: MemoryBackend; discovery: Discovery }> {
  const backend = createMemoryBackend()
  const add = (id: string, extra: Partial<Instance>): Instance => backend.addInstance({ service: 'pay', id, address: '10.0.0.1', port: 8000, ...extra })
  add('a1', { tags: ['a'], metadata: { v: '1' } })
  add('b1', { tags: ['b'], metadata: { v: '2' } })
  add('d1', { status: 'DOWN', tags: ['a'] })
  const discovery = createDiscovery(resolveDiscoveryOptions({}), { backend, emit: () => {}, logger: silentLogger, clock: systemClock, requestTimeoutMs: 1_000 })
  open.push(discovery)
  await discovery.discover('pay')
  return { backend, discovery }
}

const ids = (list: readonly Instance[]): string[] => list.map((i) => i.id).sort()

describe('fresh options literals', () => {
  it('discover() answers a fresh literal with the same result object, and follows changes', async () => {
    const { backend, discovery } = await warm()
    const first = await discovery.discover('pay', { status: 'any' })
    expect(ids(first)).toEqual(['a1', 'b1', 'd1'])
    expect(await discovery.discover('pay', { status: 'any' })).toBe(first)
    expect(ids(await discovery.discover('pay', { tags: ['a'] }))).toEqual(['a1'])
    expect(ids(await discovery.discover('pay', { status: ['DOWN'] }))).toEqual(['d1'])
    backend.addInstance({ service: 'pay', id: 'c1', address: '10.0.0.2', port: 8000, status: 'STARTING' })
    expect(ids(await discovery.discover('pay', { status: 'any' }))).toEqual(['a1', 'b1', 'c1', 'd1'])
  })

  it('still checks the rest of a bag whose selection matches a validated one', async () => {
    const { discovery } = await warm()
    expect(ids(await discovery.discover('pay', { status: 'any' }))).toHaveLength(3)
    expect(discovery.pickSync('pay', { strategy: 'weighted' })).toBeDefined()
    const misspelt = { status: 'any', maxStaleMs: 1 } as never
    await expect(discovery.discover('pay', misspelt)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', { status: 'any', maxStalenessMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', { status: 'any', signal: 'no' as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', { strategy: 'weighted', stratgy: 'x' } as never)).toBeUndefined()
    expect(discovery.pickSync('pay', { strategy: 'weighted', staleIfErrorMs: Number.NaN })).toBeUndefined()
    await expect(discovery.pick('pay', { strategy: 'weighted', extra: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('rejects with the signal’s reason when a fresh literal carries an aborted signal', async () => {
    const { discovery } = await warm()
    await discovery.discover('pay', { status: 'any' })
    const reason = new Error('stop')
    await expect(discovery.discover('pay', { status: 'any', signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
  })

  it('a tighter maxStalenessMs in a fresh literal still refreshes', async () => {
    const { backend, discovery } = await warm()
    await discovery.discover('pay', { status: 'any' })
    const before = backend.count('resolve')
    await new Promise((resolve) => setTimeout(resolve, 5))
    await discovery.discover('pay', { status: 'any', maxStalenessMs: 0 })
    expect(backend.count('resolve')).toBeGreaterThan(before)
  })

  it('an array mutated after a call does not alias the selection kept for its content', async () => {
    const { discovery } = await warm()
    const tags = ['a']
    expect(ids(await discovery.discover('pay', { tags }))).toEqual(['a1'])
    tags[0] = 'b'
    expect(ids(await discovery.discover('pay', { tags: ['a'] }))).toEqual(['a1'])
    expect(ids(await discovery.discover('pay', { tags: ['b'] }))).toEqual(['b1'])
    expect(discovery.pickSync('pay', { tags: ['b'] })?.id).toBe('b1')
  })

  it('tells apart look-alike metadata and never lets a bad value borrow a selection', async () => {
    const { discovery } = await warm()
    expect(ids(await discovery.discover('pay', { metadata: {} }))).toEqual(['a1', 'b1'])
    expect(ids(await discovery.discover('pay', { metadata: { v: '1' } }))).toEqual(['a1'])
    expect(ids(await discovery.discover('pay', { metadata: { v: '1', w: '0' } }))).toEqual([])
    await expect(discovery.discover('pay', { metadata: [] as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', { metadata: { v: 1 } as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', { tags: 'a' as never })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', { strategy: 'weighted' })).toBeDefined()
    expect(discovery.pickSync('pay', { strategy: 'weightd' } as never)).toBeUndefined()
  })
  it('stays right with more distinct selections than the memo keeps, literal or reused', async () => {
    const { discovery } = await warm()
    const reused = Array.from({ length: 20 }, (_, i) => ({ status: 'any' as const, metadata: { v: String(i % 3) } }))
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const want = i % 3 === 1 ? ['a1'] : i % 3 === 2 ? ['b1'] : []
        expect(ids(await discovery.discover('pay', reused[i]!))).toEqual(want)
        expect(ids(await discovery.discover('pay', { status: 'any', metadata: { v: String(i % 3) }, tags: [String(i)] }))).toEqual([])
      }
    }
    reused[1]!.metadata.v = '2'
    expect(ids(await discovery.discover('pay', reused[1]!))).toEqual(['b1'])
  })

  it('the one-walk match of the last selection: a subset, a superset, explicit undefined, null and arrays', async () => {
    const { discovery } = await warm()
    // The last selection is { tags: ['a'], status: 'any' }: bags that differ only in which keys they hold must not match it.
    expect(ids(await discovery.discover('pay', { tags: ['a'], status: 'any' }))).toEqual(['a1', 'd1'])
    expect(ids(await discovery.discover('pay', { tags: ['a'] }))).toEqual(['a1'])
    expect(ids(await discovery.discover('pay', { tags: ['a'], status: 'any' }))).toEqual(['a1', 'd1'])
    expect(ids(await discovery.discover('pay', { tags: ['a'], status: 'any', zone: undefined }))).toEqual(['a1', 'd1'])
    expect(ids(await discovery.discover('pay', { tags: ['a'], status: 'any', metadata: { v: '1' } }))).toEqual(['a1'])
    // An empty bag after it selects the default, not the last selection.
    expect(ids(await discovery.discover('pay', {}))).toEqual(['a1', 'b1'])
    expect(ids(await discovery.discover('pay', {}))).toEqual(['a1', 'b1'])
    // null and an array walk no keys; they must not pass for the empty bag just memoised.
    await expect(discovery.discover('pay', null as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(discovery.discover('pay', [] as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', {})).toBeDefined()
    expect(discovery.pickSync('pay', null as never)).toBeUndefined()
    expect(discovery.pickSync('pay', [] as never)).toBeUndefined()
    // strategy is a pick key only; hashKey must be a string.
    expect(discovery.pickSync('pay', { strategy: 'weighted' })).toBeDefined()
    await expect(discovery.discover('pay', { strategy: 'weighted' } as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(discovery.pickSync('pay', { strategy: 'weighted', hashKey: 'k' })).toBeDefined()
    expect(discovery.pickSync('pay', { strategy: 'weighted', hashKey: 7 } as never)).toBeUndefined()
    // An inherited enumerable key is a stranger too.
    const inherited = Object.create({ stray: 1 }) as { strategy: string }
    inherited.strategy = 'weighted'
    expect(discovery.pickSync('pay', inherited as never)).toBeUndefined()
  })
})
