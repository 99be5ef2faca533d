/**
 * 1,100 services watched through one etcd backend (issue 11, item 2): a change to each is
 * delivered, over a handful of shared gateway streams rather than one connection each;
 * and past `maxWatches` a watch is refused with an error, never left silent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { RequestRejectedError } from '../../src/errors.js'
import { silentLogger, type Logger } from '../../src/internal/logger.js'
import type { ServiceSnapshot } from '../../src/types.js'
import { etcdAvailable, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js'
import { establishedTo } from '../helpers/tcp-connections.js'
import { spec } from './behaviour.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

const available = etcdAvailable('the etcd many-watches test')
const SERVICES = 1_100

describe.skipIf(!available)('etcd: many watches on one backend', () => {
  let cluster: EtcdCluster
  const backends: Backend[] = []
  const make = (extra: Partial<Parameters<typeof etcdBackend>[0]> = {}): Backend => {
    const b = etcdBackend({ endpoints: cluster.endpoints, logger: silentLogger, requestTimeoutMs: 5_000, ...extra })
    backends.push(b)
    return b
  }
  const port = (): number => Number(new URL(cluster.endpoints[0]!).port)

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 1 })
  }, 60_000)

  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()))
    await cluster?.stop()
  })

  it(`delivers a change to each of ${SERVICES} watched services over few connections`, async () => {
    const baseline = establishedTo([port()])
    const watching = make()
    const base = uniqueName('many')
    const names = Array.from({ length: SERVICES }, (_, i) => `${base}-${i}`)
    const recorders = names.map(() => new WatchRecorder<ServiceSnapshot>())
    names.forEach((name, i) => watching.watchService!(name, recorders[i]!))
    await eventually(() => recorders.every((r) => r.values.length >= 1), 30_000, 'every initial state')
    // Watches share gateway streams: a few dozen connections (unary pool included), not 1,100.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const held = establishedTo([port()]) - baseline
    if (process.env.SHOW_TIMINGS) console.info({ watches: SERVICES, connections: held })
    expect(held).toBeLessThan(SERVICES / 5)
    const writer = make({ connections: 32 })
    for (let i = 0; i < SERVICES; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((name) => writer.register(spec(name, 'i-1', { ttlMs: 60_000 }), {})))
    }
    await eventually(() => recorders.every((r) => r.last?.value.instances.length === 1), 30_000, 'a change delivered to every watch')
    expect(recorders.flatMap((r) => r.errors)).toEqual([])
  }, 90_000)

  it('past maxWatches a watch gets RequestRejectedError and a warning, not silence', async () => {
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) }
    const limited = make({ maxWatches: 3, logger })
    const recorders = Array.from({ length: 4 }, () => new WatchRecorder<ServiceSnapshot>())
    recorders.forEach((r, i) => limited.watchService!(uniqueName(`limit-${i}`), r))
    await eventually(() => recorders[3]!.errors.length > 0, 5_000, 'the refused watch told')
    expect(recorders[3]!.errors[0]).toBeInstanceOf(RequestRejectedError)
    expect(recorders[3]!.errors[0]!.message).toMatch(/maxWatches/)
    expect(warnings.some((w) => /watch limit/.test(w))).toBe(true)
    await eventually(() => recorders.slice(0, 3).every((r) => r.values.length >= 1), 5_000, 'the others started')
  }, 30_000)
})
