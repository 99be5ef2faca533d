/**
 * gov.config over the etcd backend against a real local etcd: the same core, with etcd's
 * revisions (cluster-wide, so a key's versions jump) instead of protocol v1 indexes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { createConfigClient, resolveConfigOptions, type ConfigChange, type ConfigClient } from '../../src/config/index.js'
import { ConflictError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js'

const run = etcdAvailable('config etcd e2e tests')
let cluster: EtcdCluster
const opened: { config: ConfigClient; backend: Backend }[] = []

beforeAll(async () => {
  if (run) cluster = await startEtcdCluster({ size: 1 })
})
afterAll(async () => {
  for (const { config, backend } of opened.splice(0)) {
    await config.close()
    await backend.close()
  }
  await cluster?.stop()
})

function client(): ConfigClient {
  const backend = etcdBackend({ endpoints: cluster.endpoints, prefix: '/gov-config-e2e' })
  const config = createConfigClient(resolveConfigOptions(undefined), {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 5_000,
  })
  opened.push({ config, backend })
  return config
}

describe.runIf(run)('config against etcd', () => {
  it('delivers rapid puts in version order, ending on the last, then the delete', async () => {
    const watcher = client()
    const writer = client()
    const changes: ConfigChange<unknown>[] = []
    let wake: (() => void) | undefined
    watcher.watch('etcd-rapid', (_v, c) => {
      changes.push(c)
      wake?.()
    })
    const until = async (ok: () => boolean): Promise<void> => {
      while (!ok()) await new Promise<void>((r) => (wake = r))
    }
    await until(() => changes.length > 0)
    let last = ''
    for (let i = 0; i < 200; i++) last = (await writer.put('etcd-rapid', { i })).version
    await until(() => changes.at(-1)?.version === last)
    expect(changes.at(-1)?.value).toEqual({ i: 199 })
    const versions = changes.filter((c) => c.version !== undefined).map((c) => BigInt(c.version!))
    for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true)
    expect(await writer.delete('etcd-rapid')).toBe(true)
    await until(() => changes.at(-1)?.value === undefined)
    expect(await watcher.get('etcd-rapid')).toBeUndefined()
  })

  it('lets exactly one of two racing compare-and-set writers win', async () => {
    const a = client()
    const b = client()
    const base = await a.put('etcd-race', 0)
    const results = await Promise.allSettled([a.put('etcd-race', 'a', { ifVersion: base.version }), b.put('etcd-race', 'b', { ifVersion: base.version })])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(lost?.reason).toBeInstanceOf(ConflictError)
  })
})
