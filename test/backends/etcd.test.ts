/**
 * The etcd backend against a real etcd: watches that survive broken connections without
 * missing or repeating a change, compaction, exact lease ids, and username/password auth
 * with token refresh. Skipped (with a notice) when etcd is not installed, failed under CI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { Gateway } from '../../src/backends/etcd/gateway.js'
import { countServiceInstances } from '../../src/backends/etcd/service-names.js'
import { AuthError } from '../../src/errors.js'
import { GovernanceClient } from '../../src/client.js'
import { silentLogger } from '../../src/internal/logger.js'
import { createTransport } from '../../src/transport/index.js'
import type { RequestOptions, Transport } from '../../src/transport/types.js'
import { compareRevisions, type ConfigEntry, type ServiceSnapshot } from '../../src/types.js'
import { b64, etcdAvailable, etcdCall, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js'
import { spec } from './behaviour.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const available = etcdAvailable('the etcd backend tests')
const fast = { minDelayMs: 20, maxDelayMs: 200 }

describe.skipIf(!available)('etcd backend on a real etcd', () => {
  let cluster: EtcdCluster
  let proxy: TcpProxy
  let direct: Backend
  let viaProxy: Backend
  const prefix = `/etcd-test-${process.pid}`

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 1 })
    proxy = await startTcpProxy(cluster.endpoints[0]!)
    direct = etcdBackend({ endpoints: cluster.endpoints, prefix, logger: silentLogger })
    viaProxy = etcdBackend({ endpoints: [proxy.url], prefix, logger: silentLogger, watchBackoff: fast })
  })
  afterAll(async () => {
    await viaProxy?.close()
    await direct?.close()
    await proxy?.close()
    await cluster?.stop()
  })

  /** The instance ids under a service prefix as etcd held them at `revision`. */
  async function idsAt(service: string, revision: string): Promise<string[]> {
    const key = `${prefix}/services/${service}/`
    const end = Buffer.from(key)
    end[end.length - 1]! += 1
    const { body } = await etcdCall(cluster.endpoints[0]!, '/v3/kv/range', { key: b64(key), range_end: end.toString('base64'), revision, keys_only: true })
    const kvs = (body.kvs ?? []) as { key: string }[]
    return kvs.map((kv) => Buffer.from(kv.key, 'base64').toString().slice(key.length)).sort()
  }

  it('keeps lease ids exact: etcd knows the lease by the very id the backend returned', async () => {
    const lease = await direct.register(spec(uniqueName('exact'), 'i-1'), {})
    expect(lease.id).toMatch(/^[1-9][0-9]*$/)
    const { body } = await etcdCall(cluster.endpoints[0]!, '/v3/lease/timetolive', { ID: lease.id })
    expect(body.ID).toBe(lease.id)
    expect(Number(body.TTL)).toBeGreaterThan(0)
    await direct.deregister(lease, {})
  })

  it('a watch broken again and again delivers every state exactly as etcd had it, never repeating one', async () => {
    const service = uniqueName('resume')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = viaProxy.watchService!(service, rec)
    try {
      await rec.until(() => true)
      const leases = []
      for (let n = 1; n <= 30; n++) {
        leases.push(await direct.register(spec(service, `i-${String(n).padStart(2, '0')}`), {}))
        if (n % 3 === 0) await direct.deregister(leases[n - 3]!, {})
        if (n % 7 === 0) proxy.cut()
      }
      const final = await direct.resolve(service, {})
      await rec.until((_s, m) => m.revision === final.revision, 15_000)
      expect(rec.errors.length).toBeGreaterThan(0) // the cuts did break the stream
      const revisions = rec.values.map((r) => r.meta.revision)
      expect(new Set(revisions).size).toBe(revisions.length)
      for (let i = 1; i < revisions.length; i++) expect(compareRevisions(revisions[i]!, revisions[i - 1]!)).toBeGreaterThan(0)
      for (const { value, meta } of rec.values) {
        expect(meta.reset).toBe(false)
        expect(value.instances.map((i) => i.id)).toEqual(await idsAt(service, meta.revision))
      }
    } finally {
      stop()
    }
  })

  it('resuming from a compacted revision re-reads and delivers a reset', async () => {
    const key = uniqueName('compact')
    const first = await direct.putConfig!(key, 1, {}, {})
    await direct.putConfig!(key, 2, {}, {})
    const last = await direct.putConfig!(key, 3, {}, {})
    await etcdCall(cluster.endpoints[0]!, '/v3/kv/compaction', { revision: last.version, physical: true })
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = direct.watchConfig!(key, rec, { afterRevision: first.version })
    try {
      const hit = await rec.until(() => true)
      expect(hit.meta.reset).toBe(true)
      expect(hit.value?.value).toBe(3)
    } finally {
      stop()
    }
  })

  it('a watch that reconnects after a compaction passed it re-reads and delivers a reset', async () => {
    const key = uniqueName('compact-live')
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = viaProxy.watchConfig!(key, rec)
    try {
      await direct.putConfig!(key, 'a', {}, {})
      await rec.until((v) => v?.value === 'a')
      proxy.pause(true)
      proxy.cut()
      await eventually(() => rec.errors.length > 0, 5_000, 'the watch noticed the cut')
      await direct.putConfig!(key, 'b', {}, {})
      const c = await direct.putConfig!(key, 'c', {}, {})
      await etcdCall(cluster.endpoints[0]!, '/v3/kv/compaction', { revision: c.version, physical: true })
      proxy.pause(false)
      const reset = await rec.until((_v, m) => m.reset, 10_000)
      expect(reset.value?.value).toBe('c')
      expect(rec.values.map((r) => r.value?.value)).not.toContain('b')
    } finally {
      proxy.pause(false)
      stop()
    }
  })

  it('lists the services that have instance keys, in paged keys-only ranges pinned to one revision', async () => {
    const listPrefix = `${prefix}-list`
    const ranges: Record<string, unknown>[] = []
    const inner = createTransport({ servers: cluster.endpoints })
    const transport: Transport = {
      request: (options: RequestOptions) => {
        if (options.path === '/v3/kv/range') ranges.push(options.body as Record<string, unknown>)
        return inner.request(options)
      },
      stream: (options) => inner.stream(options),
      close: () => inner.close(),
    }
    const b = etcdBackend({ endpoints: cluster.endpoints, prefix: listPrefix, transport, logger: false })
    const gov = new GovernanceClient({ backend: b, logger: false, metrics: false, handleSignals: false })
    try {
      expect(await gov.services()).toEqual([])
      // 35 services of 30 instances: 1,050 keys, more than one 1,000-key page.
      const names = Array.from({ length: 35 }, (_, i) => `svc-${String(i).padStart(2, '0')}`)
      const keys = names.flatMap((name) => Array.from({ length: 30 }, (_, i) => `${listPrefix}/services/${name}/i-${i}`))
      // Keys that are no instance of ours: a deeper path, a name the rules refuse, no instance id.
      keys.push(`${listPrefix}/services/deep/a/b`, `${listPrefix}/services/bad name/x`, `${listPrefix}/services/lonely`)
      for (let i = 0; i < keys.length; i += 100) {
        const success = keys.slice(i, i + 100).map((key) => ({ request_put: { key: b64(key), value: b64('{}') } }))
        expect((await etcdCall(cluster.endpoints[0]!, '/v3/kv/txn', { success })).status).toBe(200)
      }
      const lease = await b.register(spec('zeta', 'z-1'), {})
      const before = ranges.length
      expect(await gov.services()).toEqual([...names, 'zeta'])
      const pages = ranges.slice(before)
      expect(pages).toHaveLength(2)
      expect(pages.every((page) => page.keys_only === true && page.limit === '1000')).toBe(true)
      expect(pages[0]!.revision).toBeUndefined()
      expect(pages[1]!.revision).toMatch(/^[1-9][0-9]*$/)
      // Small pages: the same counts, every page read at the first one's revision.
      const counts = await countServiceInstances(new Gateway(transport, undefined, 5_000), `${listPrefix}/services/`, {}, 7)
      expect(Object.fromEntries(counts)).toEqual({ ...Object.fromEntries(names.map((name) => [name, 30])), zeta: 1 })
      const small = ranges.slice(before + 2)
      expect(small).toHaveLength(Math.ceil((keys.length + 1) / 7))
      expect(small[1]!.revision).toMatch(/^[1-9][0-9]*$/)
      expect(new Set(small.slice(1).map((page) => page.revision)).size).toBe(1)
      await b.deregister(lease, {})
      expect(await gov.services()).not.toContain('zeta')
    } finally {
      await gov.close()
      await b.close()
      await inner.close()
    }
  })
})

describe.skipIf(!available)('etcd backend with username/password auth', () => {
  let cluster: EtcdCluster
  const authCalls: string[] = []

  /** A transport that counts authentications, to see the token being refreshed. */
  function counting(inner: Transport): Transport {
    return {
      request: (options: RequestOptions) => {
        if (options.path === '/v3/auth/authenticate') authCalls.push(options.path)
        return inner.request(options)
      },
      stream: (options) => inner.stream(options),
      close: () => inner.close(),
    }
  }

  beforeAll(async () => {
    // Simple tokens with a 1 s TTL, so a quiet spell makes the token lapse.
    cluster = await startEtcdCluster({ size: 1, extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', '1'] })
    const ep = cluster.endpoints[0]!
    for (const [path, body] of [
      ['/v3/auth/user/add', { name: 'root', password: 'root-pw' }],
      ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ['/v3/auth/enable', {}],
    ] as const) {
      const answer = await etcdCall(ep, path, body)
      if (answer.status !== 200) throw new Error(`${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    }
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('authenticates, and re-authenticates once the token has lapsed', async () => {
    const transport = counting(createTransport({ servers: cluster.endpoints }))
    const b = etcdBackend({ endpoints: cluster.endpoints, auth: { username: 'root', password: 'root-pw' }, transport, logger: silentLogger })
    try {
      const put = await b.putConfig!('auth-key', { on: true }, {}, {})
      expect((await b.getConfig('auth-key', {}))?.version).toBe(put.version)
      // Once, unless this process stalled for over a second between the two calls (a busy CI core).
      const before = authCalls.length
      expect(before).toBeGreaterThanOrEqual(1)
      // No event exists for "the server dropped the token": idle past its 1 s TTL (+ the keeper's tick).
      await new Promise((r) => setTimeout(r, 2_500))
      expect((await b.getConfig('auth-key', {}))?.value).toEqual({ on: true })
      expect(authCalls).toHaveLength(before + 1)
      const rec = new WatchRecorder<ConfigEntry | undefined>()
      const stop = b.watchConfig!('auth-key', rec)
      await rec.until((v) => v?.version === put.version)
      stop()
    } finally {
      await b.close()
      await transport.close()
    }
  })

  it('a wrong password is an AuthError; no credentials on an auth-enabled cluster says what to pass', async () => {
    const wrong = etcdBackend({ endpoints: cluster.endpoints, auth: { username: 'root', password: 'nope' }, logger: silentLogger })
    const none = etcdBackend({ endpoints: cluster.endpoints, logger: silentLogger })
    try {
      await expect(wrong.getConfig('k', {})).rejects.toBeInstanceOf(AuthError)
      const error = await none.getConfig('k', {}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AuthError)
      expect((error as Error).message).toMatch(/pass auth/)
    } finally {
      await wrong.close()
      await none.close()
    }
  })

  it('register() with a wrong password is final: AuthError, and the log says so, not "will keep trying"', async () => {
    const lines: string[] = []
    const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`)
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
    const backend = etcdBackend({ endpoints: cluster.endpoints, auth: { username: 'root', password: 'nope' }, logger: silentLogger })
    const gov = new GovernanceClient({ backend, service: { name: 'orders', port: 8080, address: '127.0.0.1' }, logger, metrics: false, handleSignals: false })
    try {
      await expect(gov.register()).rejects.toBeInstanceOf(AuthError)
      const refused = lines.filter((line) => line.includes('rejected by the server'))
      expect(refused.length).toBeGreaterThanOrEqual(1)
      expect(refused.every((line) => /not retrying.*check the credentials/.test(line))).toBe(true)
      expect(lines.some((line) => line.includes('will keep trying'))).toBe(false)
      expect(gov.registrationState).toBe('idle')
    } finally {
      await gov.close()
    }
  })
})
