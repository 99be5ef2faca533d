/**
 * gov.config against the real reference server over the protocol v1 http backend, on
 * loopback. The restart test runs the server's CLI as a child process so it can be killed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient } from '../../src/config/index.js'
import { ConflictError, ValidationError } from '../../src/errors.js'
import type { GovernanceEventName } from '../../src/events.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gov-config-e2e-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A server on a port of its own choosing. */
async function server(options: { dataDir?: string } = {}): Promise<GovernanceServer> {
  const s = await createGovernanceServer({ port: 0, ...options })
  cleanups.push(() => s.close())
  return s
}

/** The clients' address across a restart: a proxy that keeps its port (none is freed and reused). */
async function stableAddress(target?: string): Promise<TcpProxy> {
  const proxy = await startTcpProxy(target)
  cleanups.push(() => proxy.close())
  return proxy
}

/** A config client over its own http backend (its own connections), as another process would have. */
function client(url: string, dataDir?: string, events: { event: GovernanceEventName; payload: unknown }[] = []): ConfigClient {
  const backend: Backend = httpBackend({ server: url, requestTimeoutMs: 2_000, watchWaitMs: 30_000 })
  const config = createConfigClient(resolveConfigOptions(undefined), {
    backend,
    emit: (event, payload) => void events.push({ event, payload }),
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 2_000,
    ...(dataDir !== undefined && { dataDir }),
  })
  cleanups.push(async () => {
    await config.close()
    await backend.close()
  })
  return config
}

/** Collects deliveries; `until` resolves when one matches. */
function recorder<T = unknown>() {
  const changes: ConfigChange<T>[] = []
  let check: (() => void) | undefined
  return {
    changes,
    cb: (_v: T | undefined, c: ConfigChange<T>): void => {
      changes.push(c)
      check?.()
    },
    until(predicate: (c: ConfigChange<T>) => boolean): Promise<ConfigChange<T>> {
      return new Promise((resolve) => {
        check = () => {
          const hit = changes.find(predicate)
          if (hit) resolve(hit)
        }
        check()
      })
    },
  }
}

/** The server's CLI in a child process, so that it can be SIGKILLed. */
async function spawnServer(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', '--port', '0', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, GOVERNANCE_TOKEN: '', GOVERNANCE_READ_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  let out = ''
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    void exited.then(([code]) => {
      reject(new Error(`server exited (${String(code)}) before listening: ${err}`))
    })
  })
  return { url, child }
}

describe('config against the reference server', () => {
  it('1,000 rapid puts: the watcher ends on the last value and never goes backwards', async () => {
    const s = await server()
    const watcher = client(s.url)
    const writer = client(s.url)
    const rec = recorder<{ i: number }>()
    watcher.watch('rapid', rec.cb)
    await rec.until(() => true)

    let last = { version: '0', i: -1 }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        const i = next++
        const { version } = await writer.put('rapid', { i })
        if (BigInt(version) > BigInt(last.version)) last = { version, i }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    const end = await rec.until((c) => c.version === last.version)
    expect(end.value).toEqual({ i: last.i })
    const versions = rec.changes.filter((c) => c.version !== undefined).map((c) => BigInt(c.version!))
    for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true)
    expect(rec.changes.at(-1)).toBe(end)
  })

  it('two writers racing with ifVersion: exactly one wins, the other gets ConflictError', async () => {
    const s = await server()
    const a = client(s.url)
    const b = client(s.url)
    let version = (await a.put('race', 0)).version
    for (let round = 1; round <= 20; round++) {
      const results = await Promise.allSettled([a.put('race', `a${round}`, { ifVersion: version }), b.put('race', `b${round}`, { ifVersion: version })])
      const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<ConfigClient['put']>>> => r.status === 'fulfilled')
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]!.reason).toBeInstanceOf(ConflictError)
      const stored = await a.get('race')
      expect(stored).toEqual({ value: won[0]!.value.value, version: won[0]!.value.version, source: 'live', ageMs: 0 })
      version = won[0]!.value.version
    }
    await expect(b.delete('race', { ifVersion: '1' })).rejects.toBeInstanceOf(ConflictError)
    expect(await b.delete('race', { ifVersion: version })).toBe(true)
  })

  it('server killed mid-watch and restarted: the watch resumes by itself; the persisted value survived', async () => {
    const serverDir = await tempDir()
    const first = await spawnServer(serverDir)
    const proxy = await stableAddress(first.url)
    const watcher = client(proxy.url)
    const writer = client(proxy.url)
    const rec = recorder()
    watcher.watch('svc', rec.cb)
    const v1 = await writer.put('svc', { mode: 'before' })
    await rec.until((c) => c.version === v1.version)

    proxy.pause(true)
    first.child.kill('SIGKILL')
    await once(first.child, 'exit')
    proxy.retarget((await spawnServer(serverDir)).url)

    expect(await client(proxy.url).get('svc')).toEqual({ value: { mode: 'before' }, version: v1.version, source: 'live', ageMs: 0 })
    const v2 = await writer.put('svc', { mode: 'after' })
    expect(BigInt(v2.version) > BigInt(v1.version)).toBe(true)
    const after = await rec.until((c) => c.version === v2.version)
    expect(after).toMatchObject({ value: { mode: 'after' }, previous: { mode: 'before' }, changedKeys: ['mode'], source: 'live' })
    expect(rec.changes.map((c) => c.value)).toEqual([undefined, { mode: 'before' }, { mode: 'after' }])
  })

  it('cold start with the server down serves the snapshot, then follows the server when it is back', async () => {
    const serverDir = await tempDir()
    const clientDir = await tempDir()
    const s1 = await createGovernanceServer({ port: 0, dataDir: serverDir })
    const proxy = await stableAddress(s1.url)
    const first = client(proxy.url, clientDir)
    const v1 = await first.put('flags', { beta: true })
    const rec1 = recorder()
    first.watch('flags', rec1.cb)
    await rec1.until((c) => c.version === v1.version)
    await first.close() // flushes the snapshot
    proxy.pause(true)
    proxy.cut()
    await s1.close()

    const cold = client(proxy.url, clientDir)
    expect(await cold.get('flags')).toMatchObject({ value: { beta: true }, version: v1.version, source: 'snapshot' })
    const rec = recorder()
    cold.watch('flags', rec.cb)
    const fromDisk = await rec.until(() => true)
    expect(fromDisk).toMatchObject({ value: { beta: true }, version: v1.version, source: 'snapshot' })

    const s2 = await server({ dataDir: serverDir })
    proxy.retarget(s2.url)
    const v2 = await client(s2.url).put('flags', { beta: false })
    const live = await rec.until((c) => c.version === v2.version)
    expect(live).toMatchObject({ value: { beta: false }, previous: { beta: true }, source: 'live' })
    expect(await cold.get('flags')).toMatchObject({ value: { beta: false }, version: v2.version, source: 'memory' })
  })

  it('a schema-invalid push is rejected and the previous value kept', async () => {
    const s = await server()
    const events: { event: GovernanceEventName; payload: unknown }[] = []
    const watcher = client(s.url, undefined, events)
    const writer = client(s.url)
    const schema = (raw: unknown): { replicas: number } => {
      const replicas = (raw as { replicas?: unknown } | null)?.replicas
      if (typeof replicas !== 'number' || replicas < 1) throw new Error('replicas must be a positive number')
      return { replicas }
    }
    const good = await writer.put('scale', { replicas: 3 })
    const rec = recorder<{ replicas: number }>()
    watcher.watch('scale', rec.cb, { schema })
    await rec.until((c) => c.version === good.version)
    const bad = await writer.put('scale', { replicas: 'many' })
    const next = await writer.put('scale', { replicas: 5 })
    await rec.until((c) => c.version === next.version)
    expect(rec.changes.map((c) => c.value)).toEqual([{ replicas: 3 }, { replicas: 5 }])
    const rejected = events.filter((e) => e.event === 'config:rejected').map((e) => e.payload as { version: string; error: ValidationError })
    // A blocking query may skip a value overwritten before it answers; when seen, it was rejected.
    for (const r of rejected) {
      expect(r.version).toBe(bad.version)
      expect(r.error.issues[0]?.message).toMatch(/replicas must be a positive number/)
    }
    await writer.put('scale', { replicas: 0 })
    await expect.poll(() => events.filter((e) => e.event === 'config:rejected').length).toBe(rejected.length + 1)
    expect(await watcher.get('scale', { schema })).toMatchObject({ value: { replicas: 5 }, version: next.version, source: 'memory' })
  })
})
