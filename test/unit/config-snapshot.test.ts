import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient, type ConfigOptions } from '../../src/config/index.js'
import { SnapshotStore } from '../../src/config/snapshot-store.js'
import { ServerUnavailableError } from '../../src/errors.js'
import type { GovernanceEventName } from '../../src/events.js'
import type { SubsystemContext } from '../../src/internal/context.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'

let dataDir: string
const clients: ConfigClient[] = []
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gov-config-'))
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await rm(dataDir, { recursive: true, force: true })
})

function setup(backend: MemoryBackend, options?: ConfigOptions) {
  const events: { event: GovernanceEventName; payload: unknown }[] = []
  const ctx: SubsystemContext = {
    backend,
    emit: (event, payload) => void events.push({ event, payload }),
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 1_000,
    dataDir,
  }
  const config = createConfigClient(resolveConfigOptions(options), ctx)
  clients.push(config)
  return { config, events }
}

function collect<T = unknown>() {
  const changes: ConfigChange<T>[] = []
  let wake: (() => void) | undefined
  return {
    changes,
    cb: (_v: T | undefined, c: ConfigChange<T>) => {
      changes.push(c)
      wake?.()
    },
    async until(n: number) {
      while (changes.length < n) await new Promise<void>((r) => (wake = r))
    },
  }
}

const fileOf = (key: string) => join(dataDir, 'config', `${key}.json`)
const readSnapshot = async (key: string) => JSON.parse(await readFile(fileOf(key), 'utf8')) as { key: string; value: unknown; version: string }

/** Watches `key` on a fresh client until the backend's value is stored, then closes it. */
async function seed(key: string, value: unknown): Promise<string> {
  const backend = createMemoryBackend()
  const entry = backend.setConfig(key, value)
  const { config } = setup(backend)
  const rec = collect()
  config.watch(key, rec.cb)
  await rec.until(1)
  await config.close()
  return entry.version
}

describe('config snapshots', () => {
  it('stores the last good value of a watched key, and removes it when the key is deleted', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', { a: 1 })
    const { config } = setup(backend)
    const rec = collect()
    config.watch('app', rec.cb)
    await rec.until(1)
    let last
    for (let i = 0; i < 50; i++) last = backend.setConfig('app', { a: i })
    await config.close()
    expect(await readSnapshot('app')).toMatchObject({ key: 'app', value: { a: 49 }, version: last!.version })
    expect((await readdir(join(dataDir, 'config'))).filter((f) => f.endsWith('.tmp'))).toEqual([])

    const again = setup(backend).config
    const rec2 = collect()
    again.watch('app', rec2.cb)
    await rec2.until(1)
    backend.deleteConfigKey('app')
    await rec2.until(2)
    await again.close()
    await expect(readFile(fileOf('app'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('serves the snapshot at a cold start with the server down, then switches to live', async () => {
    const version = await seed('app', { a: 1 })
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { config } = setup(backend)
    const rec = collect()
    config.watch('app', rec.cb)
    await rec.until(1)
    expect(rec.changes[0]).toMatchObject({ value: { a: 1 }, version, source: 'snapshot' })
    const read = await config.get('app')
    expect(read).toMatchObject({ value: { a: 1 }, version, source: 'snapshot' })
    // A snapshot's age counts from when it was written.
    expect(read!.ageMs).toBeGreaterThanOrEqual(0)
    expect(read!.ageMs).toBeLessThan(60_000)

    backend.setConfig('app', { a: 2 })
    backend.setUnreachable(false)
    await rec.until(2)
    expect(rec.changes[1]).toMatchObject({ value: { a: 2 }, previous: { a: 1 }, source: 'live' })
    expect((await config.get('app'))?.source).toBe('memory')
  })

  it('does not deliver again when the live value equals the snapshot', async () => {
    await seed('app', { a: 1 })
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { config } = setup(backend)
    const rec = collect()
    config.watch('app', rec.cb)
    await rec.until(1)
    const live = backend.setConfig('app', { a: 1 })
    backend.setUnreachable(false)
    await expect.poll(async () => (await config.get('app'))?.source).toBe('memory')
    expect(rec.changes).toHaveLength(1)
    expect((await config.get('app'))?.version).toBe(live.version)
    const next = backend.setConfig('app', { a: 2 })
    await rec.until(2)
    expect(rec.changes[1]).toMatchObject({ version: next.version, source: 'live' })
  })

  it('answers get() on an unwatched key from the snapshot when the server is down', async () => {
    const version = await seed('app', 'v')
    const backend = createMemoryBackend()
    backend.setUnreachable(true)
    const { config } = setup(backend)
    const read = await config.get('app')
    expect(read).toEqual({ value: 'v', version, source: 'snapshot', ageMs: read!.ageMs })
    expect(read!.ageMs).toBeLessThan(60_000)
    await expect(config.get('other')).rejects.toBeInstanceOf(ServerUnavailableError)
    await expect(config.get('app', { schema: (raw) => Number(raw) || (() => { throw new Error('nan') })() })).rejects.toThrow(/nan/)
  })

  it('serves the snapshot when the first live value fails validation', async () => {
    await seed('limits', { max: 5 })
    const backend = createMemoryBackend()
    backend.setConfig('limits', { max: 'lots' })
    const { config, events } = setup(backend)
    const rec = collect<{ max: number }>()
    const schema = (raw: unknown) => {
      const max = (raw as { max?: unknown }).max
      if (typeof max !== 'number') throw new Error('max must be a number')
      return { max }
    }
    config.watch('limits', rec.cb, { schema })
    await rec.until(1)
    expect(rec.changes[0]).toMatchObject({ value: { max: 5 }, source: 'snapshot' })
    expect(events.filter((e) => e.event === 'config:rejected')).toHaveLength(1)
    // The rejected value was not written over the last good one.
    expect((await readSnapshot('limits')).value).toEqual({ max: 5 })
  })

  it('writes nothing when snapshots are off, and ignores a corrupt or foreign file', async () => {
    const backend = createMemoryBackend()
    backend.setConfig('app', 1)
    const { config } = setup(backend, { snapshot: false })
    const rec = collect()
    config.watch('app', rec.cb)
    await rec.until(1)
    await config.close()
    await expect(readdir(join(dataDir, 'config'))).rejects.toMatchObject({ code: 'ENOENT' })

    await mkdir(join(dataDir, 'config'), { recursive: true })
    await writeFile(fileOf('bad'), '{"key":"bad","value":')
    await writeFile(fileOf('foreign'), JSON.stringify({ key: 'other', value: 1, version: '3' }))
    const down = createMemoryBackend()
    down.setUnreachable(true)
    const fresh = setup(down).config
    await expect(fresh.get('bad')).rejects.toBeInstanceOf(ServerUnavailableError)
    await expect(fresh.get('foreign')).rejects.toBeInstanceOf(ServerUnavailableError)
  })

  it('gives keys too long for a file name a hashed name, and reads them back', async () => {
    const store = new SnapshotStore(dataDir, silentLogger, () => {})
    const key = `k${'x'.repeat(255)}`
    expect(store.pathOf(key).length - join(dataDir, 'config').length).toBeLessThan(230)
    store.save(key, { key, value: [1], version: '9' })
    await store.flush()
    expect(await store.read(key)).toMatchObject({ key, value: [1], version: '9' })
    expect(typeof (await store.read(key))!.savedAt).toBe('number')
  })
})
