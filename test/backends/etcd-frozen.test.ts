/**
 * A 3-member etcd cluster whose member the client uses first is frozen with SIGSTOP for
 * 20 s (sockets open, nothing answered), once the leader and once a follower (issue 11,
 * items 3 and 4). The registration must survive as seen from the healthy members, and the
 * config watch must notice the silence, move to a healthy member and resume there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { etcdBackend } from '../../src/backends/etcd/index.js'
import { GovernanceClient } from '../../src/client.js'
import { silentLogger } from '../../src/internal/logger.js'
import { etcdAvailable, startEtcdCluster, type EtcdCluster, type EtcdMember } from '../helpers/etcd-cluster.js'
import { frozenCheckService } from '../fixtures/frozen-client.js'

const available = etcdAvailable('the etcd freeze test')
const FREEZE_MS = 20_000
const SERVICE = 'frozen-etcd'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!available)('etcd: the client\'s first member frozen (SIGSTOP) for 20 s', () => {
  let cluster: EtcdCluster
  const cleanups: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 3 })
  }, 60_000)

  afterAll(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined)
    for (const m of cluster?.members ?? []) m.process.kill('SIGCONT')
    await cluster?.stop()
  })

  const backend = (endpoints: readonly string[]): Backend => {
    const b = etcdBackend({ endpoints, logger: silentLogger, requestTimeoutMs: 2_000, watchBackoff: { minDelayMs: 50, maxDelayMs: 500 } })
    cleanups.push(() => b.close())
    return b
  }

  async function freezeRun(pickFrozen: () => Promise<EtcdMember>, suffix: string): Promise<void> {
    const frozen = await pickFrozen()
    const healthy = cluster.members.filter((m) => m !== frozen).map((m) => m.clientUrl)
    const key = `frozen.cfg-${suffix}`
    const service = `${SERVICE}-${suffix}`
    const gov = new GovernanceClient({
      backend: backend([frozen.clientUrl, ...healthy]),
      ...frozenCheckService(service),
    })
    cleanups.push(() => gov.close())
    const writer = backend(healthy)
    const observers = healthy.map((url) => backend([url]))
    // The run before may have frozen the leader: the cluster can still be electing when this
    // one starts, so setup writes until the cluster takes one (not what is under test).
    await retryFor(15_000, () => writer.putConfig!(key, { n: -1 }, {}, {}))
    await gov.register()
    const seen: { value: unknown; at: number }[] = []
    gov.config.watch(key, (value) => void seen.push({ value, at: Date.now() }))
    await retryFor(15_000, () => writer.putConfig!(key, { n: 0 }, {}, {}))
    await expectSoon(() => seen.some((s) => (s.value as { n: number } | undefined)?.n === 0), 5_000)

    frozen.process.kill('SIGSTOP')
    const frozenAt = Date.now()
    const written: { n: number; at: number }[] = []
    let missed = 0
    try {
      for (let n = 1; Date.now() - frozenAt < FREEZE_MS; n++) {
        const tick = Date.now()
        const present = await Promise.all(observers.map((o) => o.resolve(service, {}).then((s) => s.instances.length === 1, () => false)))
        if (!present.every(Boolean)) missed++
        await writer.putConfig!(key, { n }, {}, {}).then(() => written.push({ n, at: Date.now() }), () => undefined)
        await sleep(Math.max(0, 1_000 - (Date.now() - tick)))
      }
    } finally {
      frozen.process.kill('SIGCONT')
    }
    const arrival = (n: number): number | undefined => seen.find((s) => (s.value as { n: number } | undefined)?.n === n)?.at
    const firstAfter = seen.find((s) => s.at >= frozenAt && (s.value as { n: number }).n >= 1)
    if (process.env.SHOW_TIMINGS) console.info({ suffix, missed, firstAfterMs: firstAfter && firstAfter.at - frozenAt, maxLateMs: Math.max(...written.filter((w) => firstAfter && w.at > firstAfter.at).map((w) => (arrival(w.n) ?? Infinity) - w.at)) })
    expect(missed).toBeLessThanOrEqual(1)
    expect(firstAfter, 'the config watch delivered after the freeze').toBeDefined()
    expect(firstAfter!.at - frozenAt).toBeLessThan(8_000)
    // Once the watch has moved, every write reaches it within 3 s.
    const late = written.filter((w) => w.at > firstAfter!.at).map((w) => ({ n: w.n, ms: (arrival(w.n) ?? Infinity) - w.at }))
    expect(late.length).toBeGreaterThan(5)
    expect(late.filter((w) => !(w.ms < 3_000))).toEqual([])
  }

  it('the leader frozen', async () => {
    await freezeRun(() => cluster.leader(), 'leader')
  }, 60_000)

  it('a follower frozen', async () => {
    const leader = await cluster.leader()
    await freezeRun(async () => cluster.members.find((m) => m !== leader)!, 'follower')
  }, 60_000)
})

/** Calls `fn` until it resolves, for at most `withinMs`; the last failure if it never does. */
async function retryFor<T>(withinMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + withinMs
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(200)
    }
  }
}

async function expectSoon(check: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms`)
    await sleep(20)
  }
}
